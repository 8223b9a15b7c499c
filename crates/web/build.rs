//! Prepares the front-end assets the binary serves: obtains GOV.UK Frontend with `npm ci`
//! when it is missing, strips the GDS Transport font (not licensed for non-government
//! services), gives every file a content-hashed name and generates the table of them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

struct Asset {
    logical: String,
    served: String,
    content_type: &'static str,
    file: PathBuf,
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=package.json");
    println!("cargo:rerun-if-changed=package-lock.json");
    println!("cargo:rerun-if-changed=static");
    let dist = root.join("node_modules/govuk-frontend/dist/govuk");
    if !dist.join("govuk-frontend.min.css").exists() {
        install_packages(&root);
    }
    let assets_dir = out.join("assets");
    std::fs::create_dir_all(&assets_dir).expect("OUT_DIR is writable");
    let mut assets = Vec::new();

    // Images referenced by the stylesheet keep working under hashed names.
    let mut css = read(&dist.join("govuk-frontend.min.css"));
    for entry in std::fs::read_dir(dist.join("assets/images")).expect("govuk-frontend ships images")
    {
        let path = entry.expect("readable folder").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let bytes = std::fs::read(&path).expect("readable image");
        let a = add(&mut assets, &assets_dir, &format!("images/{name}"), &bytes);
        css = css.replace(&format!("/assets/images/{name}"), &a);
    }
    css = strip_font(&css);
    let css_url = add(
        &mut assets,
        &assets_dir,
        "govuk-frontend.min.css",
        css.as_bytes(),
    );
    let _ = css_url;
    let js = read(&dist.join("govuk-frontend.min.js"));
    let js = js.replace("//# sourceMappingURL=govuk-frontend.min.js.map", "");
    let js_url = add(
        &mut assets,
        &assets_dir,
        "govuk-frontend.min.js",
        js.as_bytes(),
    );

    let mut statics: Vec<PathBuf> = std::fs::read_dir(root.join("static"))
        .expect("static folder exists")
        .map(|e| e.expect("readable folder").path())
        .collect();
    statics.sort();
    for path in statics {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let text = read(&path).replace("__GOVUK_FRONTEND_JS__", &js_url);
        add(&mut assets, &assets_dir, &name, text.as_bytes());
    }

    let mut code = String::from(
        "/// Every asset the binary serves: logical name, hashed URL, type, bytes.\npub static ASSETS: &[Asset] = &[\n",
    );
    for a in &assets {
        let _ = writeln!(
            code,
            "    Asset {{ logical: {:?}, url: {:?}, content_type: {:?}, bytes: include_bytes!({:?}) }},",
            a.logical,
            a.served,
            a.content_type,
            a.file.display().to_string()
        );
    }
    code.push_str("];\n");
    std::fs::write(out.join("assets.rs"), code).expect("OUT_DIR is writable");
}

fn install_packages(root: &Path) {
    eprintln!(
        "GOV.UK Frontend is missing: running npm ci in {}",
        root.display()
    );
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(root)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "`npm ci` in {} failed with {s}; run it by hand to see why",
            root.display()
        ),
        Err(e) => panic!(
            "cannot run npm ({e}); install Node.js and npm (Debian: apt-get install nodejs npm), \
             then build again"
        ),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Removes the `@font-face` rules for GDS Transport and the family from every font stack.
fn strip_font(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("@font-face{") {
        let end = rest[start..]
            .find('}')
            .map(|e| start + e + 1)
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        if !rest[start..end].contains("GDS Transport") {
            out.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.replace("GDS Transport,", "")
        .replace("\"GDS Transport\",", "")
}

fn add(assets: &mut Vec<Asset>, dir: &Path, logical: &str, bytes: &[u8]) -> String {
    let hash = hex::encode(Sha256::digest(bytes));
    let (stem, ext) = logical.rsplit_once('.').unwrap_or((logical, ""));
    let flat = stem.replace('/', "-");
    let served_name = format!("{flat}.{}.{ext}", &hash[..12]);
    let file = dir.join(&served_name);
    std::fs::write(&file, bytes).expect("OUT_DIR is writable");
    let content_type = match ext {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" => "application/json",
        _ => "application/octet-stream",
    };
    let served = format!("/assets/{served_name}");
    assets.push(Asset {
        logical: logical.to_string(),
        served: served.clone(),
        content_type,
        file,
    });
    served
}
