//! What a case document may be: its type decided from its bytes (PDF, PNG, JPEG, Word,
//! plain text), a size limit, and a safe file name. Uploads are checked here before anything
//! is stored.

/// Largest accepted document: 10 MiB.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// No file was chosen or it is empty.
    #[error("Choose a file to upload; the file sent was empty")]
    Empty,
    /// Over the size limit.
    #[error("The file is {size} bytes; the largest accepted is 10 MiB ({MAX_BYTES} bytes)")]
    TooLarge {
        /// Size received.
        size: usize,
    },
    /// The bytes are not an accepted type (whatever the name says).
    #[error(
        "{name} is not a PDF, PNG, JPEG, Word (.docx) or plain text file; upload one of those types"
    )]
    ForbiddenType {
        /// The file name given.
        name: String,
    },
    /// The name's extension disagrees with the content.
    #[error("{name} looks like a {found} file but is named .{ext}; rename it to match its content")]
    Mismatch {
        /// The file name given.
        name: String,
        /// The type found from the bytes.
        found: &'static str,
        /// The extension given.
        ext: String,
    },
}

/// An accepted document type: its MIME type and the extensions it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocType {
    /// MIME type served on download.
    pub mime: &'static str,
    /// Short name.
    pub name: &'static str,
    /// Extensions that match.
    pub extensions: &'static [&'static str],
}

const PDF: DocType = DocType {
    mime: "application/pdf",
    name: "PDF",
    extensions: &["pdf"],
};
const PNG: DocType = DocType {
    mime: "image/png",
    name: "PNG",
    extensions: &["png"],
};
const JPEG: DocType = DocType {
    mime: "image/jpeg",
    name: "JPEG",
    extensions: &["jpg", "jpeg"],
};
const DOCX: DocType = DocType {
    mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    name: "Word",
    extensions: &["docx"],
};
const TXT: DocType = DocType {
    mime: "text/plain; charset=utf-8",
    name: "plain text",
    extensions: &["txt"],
};

/// Decides a document's type from its bytes and checks the name agrees. Plain text must be
/// valid UTF-8 without control characters and must not look like HTML or script.
pub fn sniff(name: &str, bytes: &[u8]) -> Result<DocType, DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(DocumentError::TooLarge { size: bytes.len() });
    }
    let found = if bytes.starts_with(b"%PDF-") {
        PDF
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        PNG
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        JPEG
    } else if bytes.starts_with(b"PK\x03\x04") && contains(bytes, b"word/") {
        DOCX
    } else if is_plain_text(bytes) {
        TXT
    } else {
        return Err(DocumentError::ForbiddenType {
            name: name.to_string(),
        });
    };
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !found.extensions.contains(&ext.as_str()) {
        return Err(DocumentError::Mismatch {
            name: name.to_string(),
            found: found.name,
            ext,
        });
    }
    Ok(found)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn is_plain_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    // Binary formats are mostly valid UTF-8 only by accident; control characters give them away.
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
    {
        return false;
    }
    let head: String = text
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    ![
        "<html",
        "<!doctype",
        "<script",
        "<svg",
        "<?xml",
        "<body",
        "<iframe",
    ]
    .iter()
    .any(|t| head.contains(t))
}

/// Keeps a safe file name: no folders, no control characters, at most 120 characters.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';' | '<' | '>'))
        .take(120)
        .collect();
    if cleaned.trim().is_empty() {
        "document".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff("a.pdf", b"%PDF-1.7 ...").expect("pdf"), PDF);
        assert_eq!(sniff("a.PNG", b"\x89PNG\r\n\x1a\nrest").expect("png"), PNG);
        assert_eq!(
            sniff("a.jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]).expect("jpeg"),
            JPEG
        );
        assert_eq!(
            sniff("a.docx", b"PK\x03\x04....word/document.xml").expect("docx"),
            DOCX
        );
        assert_eq!(
            sniff("notes.txt", "Met at the café.".as_bytes()).expect("txt"),
            TXT
        );
    }

    #[test]
    fn forbidden_and_disguised_files_are_refused() {
        assert_eq!(
            sniff("x.txt", b"").expect_err("empty"),
            DocumentError::Empty
        );
        assert!(matches!(
            sniff("page.txt", b"<!DOCTYPE html><script>alert(1)</script>"),
            Err(DocumentError::ForbiddenType { .. })
        ));
        assert!(matches!(
            sniff("a.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
            Err(DocumentError::ForbiddenType { .. })
        ));
        assert!(matches!(
            sniff("zip.docx", b"PK\x03\x04 only a zip"),
            Err(DocumentError::ForbiddenType { .. })
        ));
        assert_eq!(
            sniff("evil.pdf", b"\x89PNG\r\n\x1a\n")
                .expect_err("mismatch")
                .to_string(),
            "evil.pdf looks like a PNG file but is named .pdf; rename it to match its content"
        );
        let big = vec![b'a'; MAX_BYTES + 1];
        assert_eq!(
            sniff("big.txt", &big).expect_err("big"),
            DocumentError::TooLarge {
                size: MAX_BYTES + 1
            }
        );
        assert!(
            sniff("edge.txt", &vec![b'a'; MAX_BYTES]).is_ok(),
            "exactly the limit is accepted"
        );
    }

    #[test]
    fn names_lose_folders_and_quotes() {
        assert_eq!(clean_name("C:\\Users\\x\\plan \"v2\".pdf"), "plan v2.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name(""), "document");
    }
}
