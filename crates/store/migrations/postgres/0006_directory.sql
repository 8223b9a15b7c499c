-- The "find support" directory: each service stored whole as its canonical Open Referral UK
-- document (JSON text), beside the columns that listing, assurance and feeds filter on.
CREATE TABLE directory_services (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    organization_id TEXT,
    modified TEXT,
    assured_date TEXT,
    archived BIGINT NOT NULL DEFAULT 0,
    document TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX directory_services_name ON directory_services(name);
CREATE INDEX directory_services_assured ON directory_services(archived, assured_date);
CREATE INDEX directory_services_org ON directory_services(organization_id);

-- Taxonomies and their terms (hierarchical through parent_id), each as its ORUK document.
CREATE TABLE directory_taxonomies (
    id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE directory_taxonomy_terms (
    id TEXT PRIMARY KEY,
    taxonomy_id TEXT,
    parent_id TEXT,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX directory_taxonomy_terms_parent ON directory_taxonomy_terms(parent_id);

-- The postcode directory (ONS): normalised postcode (upper case, no spaces) to its centroid.
CREATE TABLE postcodes (
    postcode TEXT PRIMARY KEY,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL
);
