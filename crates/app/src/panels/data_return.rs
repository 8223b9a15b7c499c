//! The quarterly data return of a panel: the coordinator's page shows every figure; the
//! exported versions (CSV, JSON, the command line) withhold counts under the panel's
//! threshold. Every computation is audited as an export.

use pathways_domain::access::panel::PanelAction;
use pathways_domain::panels::{DataReturn, Measure, Quarter, compute};
use pathways_domain::{AuditAction, Permission};
use pathways_store::panels::Panel;

use super::{PANEL, panel_access};
use crate::{App, Caller, Error, Result};

/// A computed return.
#[derive(Debug, Clone)]
pub struct DataReturnView {
    /// The panel.
    pub panel: Panel,
    /// The quarter.
    pub quarter: Quarter,
    /// The figures.
    pub data: DataReturn,
    /// The lines shown or exported.
    pub measures: Vec<Measure>,
    /// The threshold applied, when suppressed.
    pub threshold: Option<i64>,
}

/// Computes a panel's return for `quarter` (`2026Q3`; the last full quarter when empty).
/// `exported` withholds small counts; it needs only the panel coordinator permission (the
/// figures are aggregate and suppressed), while the full figures are the panel's
/// coordinator's and chair's.
pub async fn data_return(
    app: &App,
    caller: &Caller,
    panel_ref: &str,
    quarter: &str,
    exported: bool,
) -> Result<DataReturnView> {
    let store = app.store();
    let panel = match store.panel(panel_ref).await {
        Ok(p) => p,
        Err(pathways_store::StoreError::NotFound { .. }) => store.panel_by_name(panel_ref).await?,
        Err(e) => return Err(e.into()),
    };
    if exported {
        caller.permit(Permission::CoordinatePanels)?;
    } else {
        panel_access(
            app,
            caller,
            &panel.id,
            PanelAction::Manage,
            AuditAction::PanelDataReturn,
        )
        .await?;
    }
    let quarter = match quarter.trim() {
        "" => Quarter::of(pathways_store::now_unix()).previous(),
        q => Quarter::parse(q).ok_or_else(|| {
            Error::invalid(
                "quarter",
                "Enter the quarter as a year and quarter, for example 2026Q3",
            )
        })?,
    };
    let cases = store
        .data_return_cases(&panel.id, quarter.start(), quarter.end())
        .await?;
    let data = compute(&cases);
    let threshold = exported.then_some(panel.suppress_below);
    let measures = data.measures(threshold);
    let mut event = caller.event(AuditAction::PanelDataReturn, PANEL, &panel.id);
    event.reason = format!("{quarter}{}", if exported { ", exported" } else { "" });
    app.audit(event).await?;
    Ok(DataReturnView {
        panel,
        quarter,
        data,
        measures,
        threshold,
    })
}

impl DataReturnView {
    /// The return as CSV: `measure,label,value`, one line per measure.
    pub fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["measure", "label", "value"]);
        for m in &self.measures {
            let _ = w.write_record([m.key.as_str(), m.label.as_str(), m.shown.as_str()]);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// The return as JSON: the panel, the quarter, the threshold applied and the measures.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "panel": self.panel.name,
            "quarter": self.quarter.to_string(),
            "suppressed_below": self.threshold,
            "measures": self.measures,
        })
    }
}
