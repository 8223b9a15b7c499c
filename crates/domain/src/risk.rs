//! Risk levels, shared by every instrument and by the lists that sort by risk.

use crate::vocabulary;

vocabulary! {
    /// A risk level. Each instrument uses an ascending subset (DASH: standard, medium, high;
    /// screening: low, medium, high); the order is the order of seriousness.
    pub enum RiskLevel("risk level") {
        /// Lowest band of a screening tool.
        Low => "low", "Low",
        /// Lowest DASH band ("standard risk").
        Standard => "standard", "Standard",
        /// Middle band.
        Medium => "medium", "Medium",
        /// Highest band.
        High => "high", "High",
    }
}
