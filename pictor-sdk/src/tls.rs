//! HTTPS for every HTTP client in the process.
//!
//! The SDK talks to `https://` coordinators through rustls with the `ring` cryptography provider
//! (lean to build: no C toolchain beyond `cc`, no CMake), trusting the platform's certificate
//! store. rustls needs its provider chosen once per process before the first client is built;
//! [`install_tls_provider`] does that, and [`Client::builder`](crate::Client::builder) calls it,
//! so SDK users never have to. A program that builds `reqwest` clients of its own (or libraries
//! that do, such as an object-store client) calls it first too.

/// Makes `ring` the process's rustls cryptography provider, unless one is installed already
/// (then that one stays: a program may have chosen its own). Cheap and idempotent.
pub fn install_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // rustls 0.23.48 deprecates ring's provider for lacking post-quantum key exchange
        // (X25519MLKEM768, which only aws-lc-rs offers). ring is kept on purpose: aws-lc-rs's C
        // build would add minutes to every clean build of the SDK and its bindings, and
        // classical ECDHE still protects the traffic. Revisit when ring gains ML-KEM.
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        // Losing a race to another thread installing a provider is fine: one is installed.
        let _ = provider.install_default();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_provider_is_installed_once_and_clients_build() {
        super::install_tls_provider();
        super::install_tls_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        reqwest::Client::builder()
            .build()
            .expect("a client builds once a provider is installed");
    }
}
