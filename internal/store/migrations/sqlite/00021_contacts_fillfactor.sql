-- +goose Up
-- PostgreSQL leaves room in contacts' pages for their statistics' updates
-- (postgres/00021); SQLite has no such setting. The migration exists so that
-- both dialects stand at the same schema version (store.Copy checks it).
SELECT 1;

-- +goose Down
SELECT 1;
