-- +goose NO TRANSACTION
-- +goose Up
ALTER TABLE items ADD COLUMN price bigint;
-- +goose Down
ALTER TABLE items DROP COLUMN price;
