//! The "find support" service directory after Open Referral UK 3.0: data model, validation,
//! feed import/export, the shipped needs taxonomy, in-memory search, ORUK documents and a demo generator.

pub mod export;
pub mod find;
pub mod generate;
pub mod import;
pub mod model;
pub mod oruk;
pub mod schedule;
pub mod search;
pub mod taxonomy;
pub mod text;
pub mod validate;

pub use export::{Audience, ExportFormat, write_feed, write_feed_for};
pub use find::Find;
pub use import::{FeedFormat, ImportError, ImportOptions, ParsedFeed, parse_feed, read_limited};
pub use model::Service;
pub use search::{GeoPoint, Hit, Query, SearchIndex, SearchPage, SortOrder, StatusFilter};
pub use taxonomy::{TaxonomyError, TermSet};
pub use validate::{FieldError, RecordError, ValidService, validate_service};
