//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use pathways_insight::InsightError;
use pathways_insight::import::{ImportOptions, ImportReport, import_paths};

/// A fresh temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p =
            std::env::temp_dir().join(format!("pathways-insight-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The shared real-data folder (`PATHWAYS_SHARED_DIR`, else `../shared/data` beside the
/// workspace), if present.
pub fn shared_data() -> Option<PathBuf> {
    let data = std::env::var("PATHWAYS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    data.is_dir().then_some(data)
}

pub fn import(paths: &[PathBuf], store: &Path) -> Result<ImportReport, InsightError> {
    import_paths(paths, store, &ImportOptions::default(), &mut |_| {})
}

pub const STREET_HEADER: &str = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context";

pub fn write(path: &Path, text: &str) -> PathBuf {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
    path.to_path_buf()
}

/// A zip with the given (name, bytes) entries, deflated.
pub fn zip_file(path: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
    use std::io::Write;
    let f = std::fs::File::create(path).expect("create zip");
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        z.start_file(*name, opts).expect("start entry");
        z.write_all(bytes).expect("write entry");
    }
    z.finish().expect("finish zip");
    path.to_path_buf()
}
