-- migrate:up
CLUSTER items USING items_pkey;
