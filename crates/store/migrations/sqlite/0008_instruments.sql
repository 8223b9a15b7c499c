-- Versions of risk instruments published by the council, beside the definitions shipped in
-- the binary. Each row is one immutable version: the whole definition as JSON text, who
-- published it, when and why. A key and version is never replaced, so an assessment stored
-- with (instrument, version) can always be shown and rescored with the definition it used.
CREATE TABLE risk_instrument_versions (
    instrument_key TEXT NOT NULL,
    version BIGINT NOT NULL,
    definition TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by TEXT NOT NULL,
    change_note TEXT NOT NULL,
    PRIMARY KEY (instrument_key, version)
);
