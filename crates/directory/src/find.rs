//! The one query path of the directory: the public "find support" pages and the ORUK
//! `/services` list both turn their parameters into a [`Find`], and [`Find::run`] decides
//! which services match and in what order. So the same words and filters give the same
//! services, in the same order, on both.

use time::{OffsetDateTime, PrimitiveDateTime};

use crate::search::{GeoPoint, Query, SearchIndex, SearchPage, SortOrder, StatusFilter};

/// Longest keyword search accepted, in characters: longer is refused before any work.
pub const MAX_WORDS: usize = 200;

/// What someone asked the directory for. Every criterion given must hold (AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Find {
    /// Keywords (every keyword must occur).
    pub words: Option<String>,
    /// A need (taxonomy term id): services tagged with it or any descendant.
    pub need: Option<String>,
    /// A taxonomy: services with any of its terms.
    pub taxonomy_id: Option<String>,
    /// Ages of a person, inclusive: the service's age range must overlap.
    pub ages: Option<(f64, f64)>,
    /// Open at this Europe/London local time.
    pub open_at: Option<PrimitiveDateTime>,
    /// ORUK `minimum_age`: the service's minimum age is at least this.
    pub minimum_age: Option<f64>,
    /// ORUK `maximum_age`: the service's maximum age is at most this.
    pub maximum_age: Option<f64>,
    /// ORUK `day` (0 = Monday).
    pub day: Option<u8>,
    /// ORUK `start_time`, minutes after midnight.
    pub start_time: Option<u16>,
    /// ORUK `end_time`, minutes after midnight.
    pub end_time: Option<u16>,
    /// ORUK `modified_after`.
    pub modified_after: Option<OffsetDateTime>,
    /// Where the person is (a postcode's centroid or the browser's location).
    pub near: Option<GeoPoint>,
    /// Only services with a public location within this many metres of `near`.
    pub within_m: Option<f64>,
    /// Nearest first even when searching by keyword.
    pub nearest_first: bool,
}

impl Find {
    /// The search: publicly listed services (active or temporarily closed); nearest first
    /// when a place is given without keywords (or when asked), best match first with
    /// keywords, otherwise by name.
    pub fn query(&self) -> Query {
        let sort = match (self.near.is_some(), self.words.is_some()) {
            (true, false) => SortOrder::Distance,
            (true, true) if self.nearest_first => SortOrder::Distance,
            (_, true) => SortOrder::Relevance,
            (false, false) => SortOrder::Name,
        };
        Query {
            text: self.words.clone(),
            need: self.need.clone(),
            taxonomy_id: self.taxonomy_id.clone(),
            ages: self.ages,
            open_at: self.open_at,
            near: self.near,
            within_m: self.within_m.filter(|_| self.near.is_some()),
            minimum_age_at_least: self.minimum_age,
            maximum_age_at_most: self.maximum_age,
            day: self.day,
            start_time: self.start_time,
            end_time: self.end_time,
            modified_after: self.modified_after,
            status: StatusFilter::Public,
            sort,
        }
    }

    /// One page of matches (`page` from 1) and the total.
    pub fn run(&self, index: &SearchIndex, page: usize, per_page: usize) -> SearchPage {
        index.search(
            &self.query(),
            page.saturating_sub(1).saturating_mul(per_page),
            per_page,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_what_was_asked() {
        let here = GeoPoint {
            lat: 51.5,
            lon: -0.19,
        };
        let sort = |f: Find| f.query().sort;
        assert_eq!(sort(Find::default()), SortOrder::Name);
        let words = Find {
            words: Some("food".into()),
            ..Find::default()
        };
        assert_eq!(sort(words.clone()), SortOrder::Relevance);
        let near = Find {
            near: Some(here),
            ..Find::default()
        };
        assert_eq!(sort(near), SortOrder::Distance);
        let both = Find {
            near: Some(here),
            ..words.clone()
        };
        assert_eq!(sort(both.clone()), SortOrder::Relevance);
        assert_eq!(
            sort(Find {
                nearest_first: true,
                ..both
            }),
            SortOrder::Distance
        );
        assert_eq!(words.query().status, StatusFilter::Public);
        assert_eq!(
            Find {
                within_m: Some(10.0),
                ..Find::default()
            }
            .query()
            .within_m,
            None,
            "a distance needs a place"
        );
    }
}
