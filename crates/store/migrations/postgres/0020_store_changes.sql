-- Change versions by topic, so every process on the database can tell that something it
-- holds in memory changed: a write bumps its topic's version in the transaction that makes
-- the change (on PostgreSQL it also sends a NOTIFY, delivered at commit).
CREATE TABLE store_changes (
    topic TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
);

-- Each directory service remembers the version of the change that last wrote it, so an
-- instance catching up reads only the services changed since the version it holds.
ALTER TABLE directory_services ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX directory_services_version ON directory_services(version);
