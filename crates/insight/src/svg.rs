//! Server-rendered SVG charts and maps: self-contained, no scripts or external resources,
//! each with `<title>` and `<desc>` for screen readers and `role="img"`.

use std::collections::HashMap;
use std::fmt::Write;

use crate::analysis::Hotspots;
use crate::geo::Ring;

/// Escapes text for XML content and attributes.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn open(w: f64, h: f64, title: &str, desc: &str, id: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-family=\"Arial, sans-serif\" font-size=\"12\"><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        esc(title),
        esc(desc)
    )
}

fn slug(title: &str) -> String {
    let s: String = title
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.trim_matches('-').chars().take(40).collect()
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.1}m", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A line chart of one or more series over shared x labels (e.g. months).
pub fn line_chart(
    title: &str,
    desc: &str,
    labels: &[String],
    series: &[(&str, Vec<f64>, &str)],
    y_label: &str,
) -> String {
    let (w, h, l, r, t, b) = (720.0, 320.0, 64.0, 16.0, 28.0, 56.0);
    let mut s = open(w, h, title, desc, &slug(title));
    let max = nice_max(
        series
            .iter()
            .flat_map(|x| x.1.iter().copied())
            .fold(0.0, f64::max),
    );
    let n = labels.len().max(2) as f64;
    let px = |i: usize| l + (w - l - r) * i as f64 / (n - 1.0);
    let py = |v: f64| t + (h - t - b) * (1.0 - v / max);
    let _ = write!(
        s,
        "<text x=\"{l}\" y=\"16\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = py(v);
        let _ = write!(
            s,
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#b1b4b6\" stroke-width=\"0.5\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - r,
            l - 6.0,
            y + 4.0,
            fmt_num(v)
        );
    }
    let step = (labels.len() / 8).max(1);
    for (i, lab) in labels.iter().enumerate().step_by(step) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            px(i),
            h - b + 16.0,
            esc(lab)
        );
    }
    let _ = write!(
        s,
        "<text transform=\"translate(14 {:.0}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        (h - b + t) / 2.0,
        esc(y_label)
    );
    for (k, (name, vals, colour)) in series.iter().enumerate() {
        let pts: Vec<String> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", px(i), py(*v)))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" points=\"{}\"/>",
            pts.join(" ")
        );
        let lx = l + 10.0 + 180.0 * k as f64;
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            h - 18.0,
            lx + 20.0,
            h - 12.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A horizontal bar chart of labelled values.
pub fn bar_chart(title: &str, desc: &str, items: &[(String, f64)], x_label: &str) -> String {
    let row = 22.0;
    let (w, l, r, t) = (720.0, 230.0, 70.0, 30.0);
    let h = t + row * items.len() as f64 + 30.0;
    let mut s = open(w, h, title, desc, &slug(title));
    let _ = write!(
        s,
        "<text x=\"0\" y=\"16\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    let max = nice_max(items.iter().map(|x| x.1).fold(0.0, f64::max));
    for (i, (label, v)) in items.iter().enumerate() {
        let y = t + row * i as f64;
        let bw = (w - l - r) * v / max;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect x=\"{l}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{}\" fill=\"#1d70b8\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            l - 6.0,
            y + 15.0,
            esc(label),
            y + 3.0,
            row - 6.0,
            l + bw + 4.0,
            y + 15.0,
            fmt_num(*v)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{l}\" y=\"{:.1}\">{}</text>",
        h - 8.0,
        esc(x_label)
    );
    s.push_str("</svg>");
    s
}

/// Fits BNG shapes into a viewport; returns a projector (x, y) → (px, py).
fn fitter(
    shapes: &[(String, &[Ring])],
    w: f64,
    h: f64,
    pad: f64,
) -> Option<impl Fn(f64, f64) -> (f64, f64)> {
    let mut bb = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for p in shapes.iter().flat_map(|s| s.1.iter()).flatten() {
        bb = [
            bb[0].min(p[0]),
            bb[1].min(p[1]),
            bb[2].max(p[0]),
            bb[3].max(p[1]),
        ];
    }
    if bb[0] > bb[2] {
        return None;
    }
    let scale = ((w - 2.0 * pad) / (bb[2] - bb[0]).max(1.0))
        .min((h - 2.0 * pad) / (bb[3] - bb[1]).max(1.0));
    Some(move |x: f64, y: f64| (pad + (x - bb[0]) * scale, h - pad - (y - bb[1]) * scale))
}

fn path_d(rings: &[Ring], proj: &impl Fn(f64, f64) -> (f64, f64)) -> String {
    let mut d = String::new();
    for ring in rings {
        for (i, p) in ring.iter().enumerate() {
            let (x, y) = proj(p[0], p[1]);
            let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
        }
        d.push('Z');
    }
    d
}

const BLUES: [&str; 5] = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];

/// A choropleth of polygons (BNG) shaded by value in five quantile classes, with a legend.
pub fn choropleth(
    title: &str,
    desc: &str,
    shapes: &[(String, &[Ring])],
    values: &HashMap<String, f64>,
    legend_label: &str,
) -> String {
    let (w, h) = (720.0, 620.0);
    let mut s = open(w, h, title, desc, &slug(title));
    let _ = write!(
        s,
        "<text x=\"0\" y=\"16\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    let Some(proj) = fitter(shapes, w - 170.0, h - 20.0, 10.0) else {
        s.push_str("<text x=\"10\" y=\"60\">No boundaries loaded: run pathways geo import with --boundaries.</text></svg>");
        return s;
    };
    let mut sorted: Vec<f64> = values.values().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let breaks: Vec<f64> = (1..5)
        .map(|k| sorted.get(sorted.len() * k / 5).copied().unwrap_or(0.0))
        .collect();
    let class = |v: f64| breaks.iter().filter(|&&b| v >= b).count().min(4);
    s.push_str("<g transform=\"translate(0 20)\">");
    for (code, rings) in shapes {
        let fill = values
            .get(code)
            .map(|&v| BLUES[class(v)])
            .unwrap_or("#f3f2f1");
        let label = values
            .get(code)
            .map(|v| format!("{code}: {v:.1}"))
            .unwrap_or_else(|| format!("{code}: no data"));
        let _ = write!(
            s,
            "<path d=\"{}\" fill=\"{fill}\" stroke=\"#505a5f\" stroke-width=\"0.4\" fill-rule=\"evenodd\"><title>{}</title></path>",
            path_d(rings, &proj),
            esc(&label)
        );
    }
    s.push_str("</g>");
    let lx = w - 160.0;
    let _ = write!(
        s,
        "<text x=\"{lx}\" y=\"50\" font-weight=\"bold\">{}</text>",
        esc(legend_label)
    );
    let lo = sorted.first().copied().unwrap_or(0.0);
    let hi = sorted.last().copied().unwrap_or(0.0);
    let mut edges = vec![lo];
    edges.extend(&breaks);
    edges.push(hi);
    for k in 0..5 {
        let y = 60.0 + 24.0 * k as f64;
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"{y}\" width=\"18\" height=\"18\" fill=\"{}\" stroke=\"#505a5f\" stroke-width=\"0.4\"/><text x=\"{}\" y=\"{}\">{:.1} – {:.1}</text>",
            BLUES[k],
            lx + 24.0,
            y + 13.0,
            edges[k],
            edges[k + 1]
        );
    }
    s.push_str("</svg>");
    s
}

/// Hotspot cells (hot red, cold blue, others grey by count) over polygon outlines.
pub fn hotspot_map(
    title: &str,
    desc: &str,
    shapes: &[(String, &[Ring])],
    hot: &Hotspots,
) -> String {
    let (w, h) = (720.0, 620.0);
    let mut s = open(w, h, title, desc, &slug(title));
    let _ = write!(
        s,
        "<text x=\"0\" y=\"16\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    let cs = hot.cell_size as f64;
    let cell_rings: Vec<Ring> = hot
        .cells
        .iter()
        .map(|c| {
            let (x, y) = (c.x as f64, c.y as f64);
            vec![[x, y], [x + cs, y], [x + cs, y + cs], [x, y + cs]]
        })
        .collect();
    let mut all: Vec<(String, &[Ring])> = shapes.to_vec();
    let cells_shape = [cell_rings.clone()];
    if shapes.is_empty() {
        all.push((String::new(), &cells_shape[0]));
    }
    let Some(proj) = fitter(&all, w - 170.0, h - 20.0, 10.0) else {
        s.push_str("<text x=\"10\" y=\"60\">No crimes with a location in this area and period.</text></svg>");
        return s;
    };
    s.push_str("<g transform=\"translate(0 20)\">");
    let max = hot.cells.iter().map(|c| c.count).max().unwrap_or(1).max(1) as f64;
    for (c, ring) in hot.cells.iter().zip(&cell_rings) {
        let (fill, opacity) = match c.kind.as_str() {
            "hot" => ("#d4351c", 0.85),
            "cold" => ("#1d70b8", 0.85),
            _ => ("#505a5f", 0.1 + 0.4 * c.count as f64 / max),
        };
        let _ = write!(
            s,
            "<path d=\"{}\" fill=\"{fill}\" fill-opacity=\"{opacity:.2}\"><title>{} crimes, Gi* z = {:.2}, q = {:.3}</title></path>",
            path_d(std::slice::from_ref(ring), &proj),
            c.count,
            c.z,
            c.q
        );
    }
    for (_, rings) in shapes {
        let _ = write!(
            s,
            "<path d=\"{}\" fill=\"none\" stroke=\"#0b0c0c\" stroke-width=\"0.3\"/>",
            path_d(rings, &proj)
        );
    }
    s.push_str("</g>");
    let lx = w - 160.0;
    for (k, (fill, label)) in [
        ("#d4351c", "Hotspot (FDR)"),
        ("#1d70b8", "Cold spot (FDR)"),
        ("#505a5f", "Other cells"),
    ]
    .iter()
    .enumerate()
    {
        let y = 60.0 + 24.0 * k as f64;
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"{y}\" width=\"18\" height=\"18\" fill=\"{fill}\" fill-opacity=\"0.8\"/><text x=\"{}\" y=\"{}\">{label}</text>",
            lx + 24.0,
            y + 13.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{lx}\" y=\"150\">{} m cells</text>",
        hot.cell_size
    );
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_accessible_and_escaped() {
        let svg = line_chart(
            "Crimes <&>",
            "Monthly crimes",
            &["2019-01".into(), "2019-02".into()],
            &[("Crimes", vec![3.0, 5.0], "#1d70b8")],
            "crimes",
        );
        assert!(svg.starts_with("<svg"));
        assert!(
            svg.contains("<title id=\"crimes-title\">Crimes &lt;&amp;&gt;</title>"),
            "{svg}"
        );
        assert!(svg.contains("<desc"));
        assert!(
            !svg.contains("http://") || svg.matches("http://").count() == 1,
            "only the xmlns"
        );
        let bars = bar_chart("Types", "d", &[("Burglary".into(), 2.0)], "count");
        assert!(bars.contains(">Burglary</text>"));
    }

    #[test]
    fn choropleth_shades_by_quantile() {
        let a: Vec<Ring> = vec![vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]];
        let b: Vec<Ring> = vec![vec![[20.0, 0.0], [30.0, 0.0], [30.0, 10.0]]];
        let shapes = vec![
            ("A".to_string(), a.as_slice()),
            ("B".to_string(), b.as_slice()),
        ];
        let values: HashMap<String, f64> = [("A".to_string(), 1.0), ("B".to_string(), 9.0)].into();
        let svg = choropleth("Rates", "d", &shapes, &values, "per 1,000");
        assert!(svg.contains(BLUES[0]) && svg.contains(BLUES[4]));
        assert!(svg.contains("<title>B: 9.0</title>"));
    }
}
