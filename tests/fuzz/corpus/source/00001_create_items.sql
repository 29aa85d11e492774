-- +goose Up
-- +goose StatementBegin
CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL);
-- +goose StatementEnd

-- +goose Down
DROP TABLE items;
