-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE items ADD COLUMN token uuid;
ALTER TABLE items ALTER COLUMN token SET DEFAULT gen_random_uuid();
ALTER TABLE items ADD COLUMN created_at timestamptz DEFAULT now();
ALTER TABLE items ADD COLUMN label text DEFAULT lower('NEW');
ALTER TABLE items ADD COLUMN meta jsonb DEFAULT jsonb_build_object('v', 1);
