//! Pictor Cloud over plain HTTP, as a browser without script would use it: forms, the session
//! cookie, the CSRF field of a page.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

/// A client that shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    pictor_sdk::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Posts a form (`application/x-www-form-urlencoded`) to `path`, with `cookie` if any.
pub async fn post_form(
    url: &str,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let encode = |text: &str| {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (byte as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    let body = fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = browser()
        .post(format!("{url}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.expect("answered")
}

/// Signs in with `key`; answers the response.
pub async fn sign_in(url: &str, key: &str) -> reqwest::Response {
    post_form(url, "/signin", None, &[("api_key", key)]).await
}

/// The `pictor_session=…` pair of a sign-in's `Set-Cookie`.
pub fn session_cookie(headers: &HeaderMap) -> String {
    let set = headers
        .get(SET_COOKIE)
        .expect("a cookie is set")
        .to_str()
        .expect("ascii");
    set.split(';').next().expect("name=value").to_string()
}

/// GETs `path` with `cookie`; answers the status, the `Location` and the body.
pub async fn get(
    url: &str,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut request = browser().get(format!("{url}{path}"));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let answer = request.send().await.expect("answered");
    let status = answer.status();
    let location = answer
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().expect("ascii").to_string());
    (status, location, answer.text().await.expect("body"))
}

/// The value of the hidden `csrf` field in a page.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a sign-out form")
        + 19;
    page[at..].split('"').next().expect("a value").to_string()
}

/// Unzips `archive` with Python's `zipfile` (which checks every CRC) into `dir/out`.
pub fn unzip(archive: &[u8], dir: &std::path::Path) {
    let path = dir.join("frames.zip");
    std::fs::write(&path, archive).expect("write the archive");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
             assert z.testzip() is None; z.extractall(sys.argv[2])",
        ])
        .arg(&path)
        .arg(dir.join("out"))
        .status()
        .expect("python3 runs");
    assert!(status.success(), "the archive unzips");
    std::fs::remove_file(path).expect("remove the archive");
}

/// The password every test person chooses.
pub const PASSWORD: &str = "correct horse battery";

/// Signs in with `key` and makes its account the first of a new person `login`: answers the
/// person's session cookie.
pub async fn person_cookie(url: &str, key: &str, login: &str) -> String {
    let key_cookie = session_cookie(sign_in(url, key).await.headers());
    let (_, _, page) = get(url, "/account", Some(&key_cookie)).await;
    let made = post_form(
        url,
        "/account/password",
        Some(&key_cookie),
        &[
            ("csrf", &csrf_of(&page)),
            ("login", login),
            ("password", PASSWORD),
            ("repeated", PASSWORD),
        ],
    )
    .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER, "a person is made");
    session_cookie(made.headers())
}

/// Links the account of `key` to the person signed in with `cookie`.
pub async fn link_account(url: &str, cookie: &str, key: &str) {
    let (_, _, page) = get(url, "/account", Some(cookie)).await;
    let linked = post_form(
        url,
        "/account/link",
        Some(cookie),
        &[("csrf", &csrf_of(&page)), ("api_key", key)],
    )
    .await;
    assert_eq!(linked.status(), StatusCode::SEE_OTHER, "linked");
}

/// The number after `prefix` in `text` (a path like `/workers/12`).
pub fn number_after(text: &str, prefix: &str) -> u64 {
    let at = text.find(prefix).expect("the prefix") + prefix.len();
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a number")
}
