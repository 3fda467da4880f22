-- Products, the append-only stock ledger (movements) and orders, for MySQL 8 and MariaDB 10.11.
-- Both enforce CHECK constraints (MySQL since 8.0.16). utf8mb4_bin keeps SKUs case-sensitive, as
-- they are on SQLite.

CREATE TABLE products (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sku           VARCHAR(64)  NOT NULL,
    name          VARCHAR(200) NOT NULL,
    stock         BIGINT       NOT NULL,
    initial_stock BIGINT       NOT NULL,
    version       BIGINT       NOT NULL DEFAULT 0,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    CONSTRAINT products_sku_unique UNIQUE (sku),
    CONSTRAINT products_stock_not_negative CHECK (stock >= 0),
    CONSTRAINT products_initial_stock_not_negative CHECK (initial_stock >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE orders (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    request_id VARCHAR(200),
    created_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE movements (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    product_id  BIGINT       NOT NULL,
    delta       BIGINT       NOT NULL,
    stock_after BIGINT       NOT NULL,
    version     BIGINT       NOT NULL,
    reason      VARCHAR(200),
    request_id  VARCHAR(200),
    order_id    BIGINT,
    created_at  DATETIME(6)  NOT NULL,
    KEY movements_by_product (product_id, id),
    CONSTRAINT movements_product FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE,
    CONSTRAINT movements_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The ledger is append-only: a movement, once written, is never rewritten.
CREATE TRIGGER movements_are_append_only BEFORE UPDATE ON movements FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'movements are append-only';
