//! A test certificate authority and a server certificate it signs for `localhost` and
//! 127.0.0.1, as PEM files: what an operator would get from their own CA.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};

pub struct TestCerts {
    /// The CA's certificate (clients trust it).
    pub ca: PathBuf,
    /// The server's certificate and private key, for `localhost` and 127.0.0.1.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A second CA that signed nothing here: trusting it alone must fail.
    pub other_ca: PathBuf,
}

impl TestCerts {
    /// Generates a CA, a server certificate signed by it and an unrelated CA, into `dir`.
    pub fn generate(dir: &Path) -> Self {
        let (ca_pem, issuer) = certificate_authority("Medkey test CA");
        let (other_pem, _) = certificate_authority("Some other CA");
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])),
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Self {
            ca: write("ca.pem", &ca_pem),
            cert: write("server.pem", &cert.pem()),
            key: write("server.key", &key.serialize_pem()),
            other_ca: write("other-ca.pem", &other_pem),
        }
    }
}

fn certificate_authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}
