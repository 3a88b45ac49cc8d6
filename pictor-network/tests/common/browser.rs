//! A real browser for the web app's tests: Debian's headless Chromium driven over WebDriver by
//! `chromedriver`, which runs as a child of the test on a free port of 127.0.0.1. Found through
//! `PICTOR_CHROMEDRIVER` / `PICTOR_CHROMIUM`, else `chromedriver` on `PATH` and
//! `/usr/bin/chromium`. Without them a test skips with the reason, and fails under
//! `PICTOR_REQUIRE_BROWSER=1` (CI).

use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `chromedriver` with one headless Chromium session; both stop when dropped.
pub struct Browser {
    driver: Child,
    /// The WebDriver session.
    pub client: Client,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium, or answers `None` (printing why) when either
    /// is missing.
    pub async fn start_or_skip() -> Option<Browser> {
        let (driver, chromium) = match (driver_command(), chromium_binary()) {
            (Some(driver), Some(chromium)) => (driver, chromium),
            _ => {
                super::skip_unless_required(
                    "PICTOR_REQUIRE_BROWSER",
                    "no headless browser (Debian: apt install chromium chromium-driver)",
                );
                return None;
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(&driver);
        // A process group of its own: dropping the browser stops chromedriver and every Chromium
        // process it started, even when a failed test never closed its session.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", driver.display()));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                // As root (CI) Chromium runs only without its sandbox.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session on headless Chromium");
        Some(Browser { driver, client })
    }

    /// Ends the browser session (call before dropping, so Chromium exits cleanly).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn driver_command() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PICTOR_CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("chromedriver"))
        .find(|path| path.is_file())
}

fn chromium_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PICTOR_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

// What the browser tests do to pages.

/// Saves a screenshot of the page as `name` in `PICTOR_SCREENSHOTS` (a folder), when it is set:
/// how the README's pictures in docs/images/ are made.
pub async fn screenshot(page: &Client, name: &str) {
    if let Some(folder) = std::env::var_os("PICTOR_SCREENSHOTS") {
        let png = page.screenshot().await.expect("a screenshot");
        std::fs::write(std::path::Path::new(&folder).join(name), png).expect("save the screenshot");
    }
}

/// Polls `done` until it answers true; fails saying `what` never happened after 10 s.
pub async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Types `key` into the sign-in form's labelled field and submits it.
pub async fn submit_key(page: &Client, key: &str) {
    page.wait()
        .for_element(Locator::Id("api_key"))
        .await
        .expect("the key field")
        .send_keys(key)
        .await
        .expect("type");
    page.wait()
        .for_element(Locator::Css("#with-key button[type=submit]"))
        .await
        .expect("the sign-in button")
        .click()
        .await
        .expect("submit");
}

/// Clears the field `id` and types `text` into it.
pub async fn type_into(page: &Client, id: &str, text: &str) {
    let field = page
        .wait()
        .for_element(Locator::Id(id))
        .await
        .expect("the field");
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// Signs out with the header's button and waits for the sign-in page.
pub async fn sign_out(page: &Client) {
    page.wait()
        .for_element(Locator::Css("header form button"))
        .await
        .expect("the sign-out button")
        .click()
        .await
        .expect("sign out");
    wait_for_path(page, "/signin").await;
}

/// Waits until the page's path is `path`: a click's navigation may still be running.
pub async fn wait_for_path(page: &Client, path: &str) {
    let what = format!("the page never reached {path}");
    eventually(&what, async || {
        page.current_url().await.expect("url").path() == path
    })
    .await;
}

/// Polls `done` for up to `secs` seconds; fails saying `what` never happened.
pub async fn within(secs: u64, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Runs `script` in the page and answers its value (a returned promise is awaited).
pub async fn run(page: &Client, script: &str) -> serde_json::Value {
    page.execute(script, vec![]).await.expect("script")
}
