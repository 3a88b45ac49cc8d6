//! Pictor Cloud in a real browser (headless Chromium over WebDriver, `tests/common/browser.rs`)
//! against a real coordinator: a creator opens the app, is sent to the sign-in page, signs in with
//! the key typed into the labelled field, sees their jobs, opens one and watches a frame turn
//! "accepted" on the open page as a checker accepts it (no reload), visits the Explorer, and
//! signs out; another creator — whose name is markup, shown as text, running nothing — gets a
//! "Not Found" page for that job. With `PICTOR_SCREENSHOTS=docs/images` it also saves the
//! README's pictures of the app.
//! Skips without Chromium and chromedriver unless `PICTOR_REQUIRE_BROWSER=1` (CI).
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{Network, deliver_pngs, small_spec, upload_test_scene};
use fantoccini::Locator;
use pictor_core::api::Role;
use pictor_network::service::Config;

/// Saves a screenshot of the page as `name` in `PICTOR_SCREENSHOTS` (a folder), when it is set:
/// how the README's pictures in docs/images/ are made.
async fn screenshot(page: &fantoccini::Client, name: &str) {
    if let Some(folder) = std::env::var_os("PICTOR_SCREENSHOTS") {
        let png = page.screenshot().await.expect("a screenshot");
        std::fs::write(std::path::Path::new(&folder).join(name), png).expect("save the screenshot");
    }
}

/// Polls `done` until it answers true; fails saying `what` never happened after 10 s.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Types `key` into the sign-in form's labelled field and submits it.
async fn submit_key(page: &fantoccini::Client, key: &str) {
    page.wait()
        .for_element(Locator::Id("api_key"))
        .await
        .expect("the key field")
        .send_keys(key)
        .await
        .expect("type");
    page.wait()
        .for_element(Locator::Css("form button[type=submit]"))
        .await
        .expect("the sign-in button")
        .click()
        .await
        .expect("submit");
}

/// Waits until the page's path is `path`: a click's navigation may still be running.
async fn wait_for_path(page: &fantoccini::Client, path: &str) {
    let what = format!("the page never reached {path}");
    eventually(&what, async || {
        page.current_url().await.expect("url").path() == path
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_signs_in_sees_their_jobs_and_signs_out_in_a_real_browser() {
    let Some(browser) = Browser::start_or_skip().await else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let (creator, _, key) = network.creator_named("Nightfall Studio", 100).await;
    let (worker, _, signing) = network.worker("gpu", 2).await;
    let (checker, _, _) = network.account_with_key(Role::Checker, "checker").await;
    let scene = upload_test_scene(&creator).await;
    let job = creator
        .jobs()
        .submit(small_spec(scene, "1-3"))
        .send()
        .await
        .expect("submit")
        .id;
    let page = &browser.client;
    let url = &network.url;

    // Signed out, the app sends the browser to the sign-in form.
    page.goto(url).await.expect("open the app");
    wait_for_path(page, "/signin").await;
    // The key goes in the field its label names.
    let label = page
        .wait()
        .for_element(Locator::Css("label[for=api_key]"))
        .await
        .expect("a label");
    assert_eq!(label.text().await.expect("label text"), "API key");
    submit_key(page, "pk_wrong").await;
    // The URL stays /signin: wait for the answer's page, the one with the error.
    let alert = page
        .wait()
        .for_element(Locator::Css("[role=alert]"))
        .await
        .expect("an error");
    assert!(alert.text().await.expect("text").contains("not valid"));
    submit_key(page, &key).await;
    wait_for_path(page, "/").await;

    // The jobs list.
    let heading = page
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("a heading");
    assert_eq!(heading.text().await.expect("text"), "Rendering");
    let who = page
        .wait()
        .for_element(Locator::Css("header strong"))
        .await
        .expect("who");
    assert_eq!(who.text().await.expect("text"), "Nightfall Studio");
    assert_eq!(
        page.title().await.expect("title"),
        "Rendering — Pictor Cloud"
    );
    screenshot(page, "cloud-jobs.png").await;
    let link = page
        .wait()
        .for_element(Locator::LinkText(&format!("Job {}", job.0)))
        .await
        .expect("the job's link");
    link.click().await.expect("open the job");
    wait_for_path(page, &format!("/jobs/{}", job.0)).await;
    let facts = page
        .wait()
        .for_element(Locator::Css("main dl"))
        .await
        .expect("the job's facts");
    assert!(facts.text().await.expect("text").contains("0 of 3"));
    // The page follows the job live: its script (allowed by the policy: same origin) is running,
    // and a frame accepted now turns "accepted" on the open page without a reload.
    page.wait()
        .for_element(Locator::Css("main[data-live=on]"))
        .await
        .expect("the live script runs");
    let lease = worker
        .workers()
        .lease()
        .await
        .expect("lease")
        .expect("a task");
    deliver_pngs(&worker, &signing, &lease).await;
    common::check_once(&checker, pictor_core::api::Verdict::Accept).await;
    eventually(
        "the accepted frame never showed on the open page",
        async || {
            let accepted = page
                .find_all(Locator::Css(".frames [data-state=accepted]"))
                .await
                .expect("tiles");
            accepted.len() == 1
        },
    )
    .await;
    // The accepted frame's picture loaded (a real PNG, served to the session's cookie).
    eventually("the frame's picture never loaded", async || {
        let loaded = page
            .execute(
                "const picture = document.querySelector('.frames img');\
                 return picture !== null && picture.complete && picture.naturalWidth === 64;",
                vec![],
            )
            .await
            .expect("script");
        loaded.as_bool() == Some(true)
    })
    .await;
    let count = page
        .find(Locator::Id("accepted-count"))
        .await
        .expect("count");
    assert_eq!(count.text().await.expect("text"), "1");
    screenshot(page, "cloud-job.png").await;

    // The Explorer, from the header's navigation: the job without its owner's name.
    page.wait()
        .for_element(Locator::LinkText("Explorer"))
        .await
        .expect("the Explorer's link")
        .click()
        .await
        .expect("open the Explorer");
    wait_for_path(page, "/explorer").await;
    let explorer = page
        .wait()
        .for_element(Locator::Css("main"))
        .await
        .expect("main");
    let text = explorer.text().await.expect("text");
    assert!(
        text.contains("Workers online") && text.contains("1 / 3"),
        "{text}"
    );
    assert!(!text.contains("Nightfall"), "{text}");
    screenshot(page, "cloud-explorer.png").await;

    // Another creator's browser session gets "Not Found" for that page.
    page.wait()
        .for_element(Locator::Css("header form button"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("sign out");
    wait_for_path(page, "/signin").await;
    // The rival's name is markup: it shows as text, and the script in it never runs.
    let name = "<script>document.title='owned'</script>";
    let (_, _, rival_key) = network.account_with_key(Role::Creator, name).await;
    submit_key(page, &rival_key).await;
    wait_for_path(page, "/").await;
    page.goto(&format!("{url}/jobs/{}", job.0))
        .await
        .expect("open the other's job");
    let heading = page
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("a heading");
    assert_eq!(heading.text().await.expect("text"), "Not Found");
    let who = page
        .wait()
        .for_element(Locator::Css("header strong"))
        .await
        .expect("who");
    assert_eq!(who.text().await.expect("text"), name);
    assert_eq!(
        page.title().await.expect("title"),
        "Not Found — Pictor Cloud"
    );
    browser.close().await;
}
