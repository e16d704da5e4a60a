//! Debian's `docker-registry` (the CNCF distribution registry) on a loopback port, with a
//! throwaway config and storage under `target/`, stopped by its process id when dropped.

use crate::paths;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`
    pub address: String,
}

impl Registry {
    pub fn start(label: &str) -> Self {
        let binary = "/usr/bin/docker-registry";
        assert!(
            std::path::Path::new(binary).exists(),
            "{binary} is missing: run `make setup` (installs Debian's docker-registry)"
        );
        let port = crate::envoy::free_port();
        let dir = paths::workspace_root()
            .join("target/registry")
            .join(format!("{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("storage")).expect("registry dir");
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.join("storage").display()
            ),
        )
        .expect("registry config");
        let log = std::fs::File::create(dir.join("registry.log")).expect("registry log");
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Self {
            child,
            address: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while crate::http::Request::get("/v2/")
            .send(port)
            .map(|r| r.status)
            .ok()
            != Some(200)
        {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not come up: {}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
