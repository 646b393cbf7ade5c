//! For tests: resolvers that never send a DNS query, and whether the OS certificate store was read.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Name, Resolve, Resolving};

/// The error of the resolvers here; [`Failure::of`](crate::Failure::of) classifies it as
/// [`Failure::Unresolvable`](crate::Failure::Unresolvable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameNotResolved {
    /// The name that was asked for.
    pub name: String,
}

impl fmt::Display for NameNotResolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} does not resolve (test resolver)", self.name)
    }
}

impl std::error::Error for NameNotResolved {}

/// A resolver for which no name resolves.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailingResolver;

impl FailingResolver {
    /// The resolver, ready for [`HttpSettings::with_resolver`](crate::HttpSettings::with_resolver).
    pub fn shared() -> Arc<dyn Resolve> {
        Arc::new(Self)
    }
}

impl Resolve for FailingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let error = NameNotResolved { name: name.as_str().to_owned() };
        Box::pin(async move { Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>) })
    }
}

/// A resolver that knows only the names it is given: any other name does not resolve.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    names: HashMap<String, Vec<SocketAddr>>,
}

impl StaticResolver {
    /// A resolver that knows no name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolves `name` (case-insensitive) to `addr`; the port of the URL replaces `addr`'s
    /// unless `addr`'s is not 0 and the URL has none.
    #[must_use]
    pub fn with(mut self, name: &str, addr: SocketAddr) -> Self {
        self.names.entry(name.to_ascii_lowercase()).or_default().push(addr);
        self
    }

    /// The resolver, ready for [`HttpSettings::with_resolver`](crate::HttpSettings::with_resolver).
    pub fn shared(self) -> Arc<dyn Resolve> {
        Arc::new(self)
    }
}

impl Resolve for StaticResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let found = self.names.get(&name.as_str().to_ascii_lowercase()).cloned();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            match found {
                Some(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                None => Err(Box::new(NameNotResolved { name }) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

/// Whether this process has read the OS certificate store: clients built without
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` read it at their first TLS handshake, not when built.
pub fn os_store_read() -> bool {
    crate::trust::os_store_read()
}
