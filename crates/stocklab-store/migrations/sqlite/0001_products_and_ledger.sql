-- Products, the append-only stock ledger (movements) and orders, for SQLite.
-- STRICT tables make SQLite reject a value of the wrong type instead of storing it anyway.

CREATE TABLE products (
    id            INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: ids are never reused
    sku           TEXT    NOT NULL UNIQUE,           -- BINARY collation: case-sensitive
    name          TEXT    NOT NULL,
    stock         INTEGER NOT NULL CHECK (stock >= 0),
    initial_stock INTEGER NOT NULL CHECK (initial_stock >= 0),
    version       INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
) STRICT;

CREATE TABLE orders (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE movements (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id  INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    delta       INTEGER NOT NULL,
    stock_after INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    reason      TEXT,
    request_id  TEXT,
    order_id    INTEGER REFERENCES orders (id),
    created_at  TEXT    NOT NULL
) STRICT;

CREATE INDEX movements_by_product ON movements (product_id, id);

-- The ledger is append-only: a movement, once written, is never rewritten.
CREATE TRIGGER movements_are_append_only BEFORE UPDATE ON movements
BEGIN
    SELECT RAISE(ABORT, 'movements are append-only');
END;
