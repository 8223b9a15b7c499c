//! The one way Pathways spells a closed set of values (statuses, decisions, levels): an enum
//! with a stable stored key, a label for people, every value in order, and parsing that
//! names what it could not read. Declared with [`vocabulary!`](crate::vocabulary).

/// A value that was not one of a vocabulary's keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {what}; expected one of {expected}")]
pub struct UnknownKey {
    /// What kind of value was expected (`case status`, ...).
    pub what: &'static str,
    /// The value given.
    pub value: String,
    /// The keys that would have been accepted, comma-separated.
    pub expected: String,
}

/// Declares a vocabulary enum: each variant with its stored key and its label.
///
/// ```
/// pathways_domain::vocabulary! {
///     /// How soon.
///     pub enum Speed("speed") {
///         /// Now.
///         Fast => "fast", "Fast",
///         /// Later.
///         Slow => "slow", "Slow",
///     }
/// }
/// assert_eq!(Speed::parse("slow"), Ok(Speed::Slow));
/// assert_eq!(Speed::Fast.label(), "Fast");
/// ```
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $key:literal, $label:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable key stored and sent in APIs.
            pub fn key(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }

            /// How people read it.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Reads a stored key.
            pub fn parse(key: &str) -> Result<$name, $crate::vocabulary::UnknownKey> {
                match key {
                    $($key => Ok($name::$variant),)+
                    other => Err($crate::vocabulary::UnknownKey {
                        what: $what,
                        value: other.to_string(),
                        expected: [$($key),+].join(", "),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::vocabulary::UnknownKey;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.key())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::vocabulary! {
        /// A test vocabulary.
        pub enum Colour("colour") {
            /// Red.
            Red => "red", "Red",
            /// Dark blue.
            DarkBlue => "dark_blue", "Dark blue",
        }
    }

    #[test]
    fn keys_labels_and_parsing_round_trip() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.key()), Ok(*c));
        }
        assert_eq!(Colour::DarkBlue.to_string(), "Dark blue");
        let err = Colour::parse("green").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"green\" is not a known colour; expected one of red, dark_blue"
        );
        let json = serde_json::to_string(&Colour::DarkBlue).expect("json");
        assert_eq!(json, "\"dark_blue\"");
        assert_eq!(
            serde_json::from_str::<Colour>(&json).expect("back"),
            Colour::DarkBlue
        );
        assert!(serde_json::from_str::<Colour>("\"green\"").is_err());
    }
}
