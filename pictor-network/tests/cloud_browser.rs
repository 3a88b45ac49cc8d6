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

use common::browser::{
    Browser, eventually, run, screenshot, sign_out, submit_key, type_into, wait_for_path, within,
};
use common::{Network, deliver_pngs, small_spec, upload_test_scene};
use fantoccini::Locator;
use pictor_core::api::Role;
use pictor_network::service::Config;

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
    sign_out(page).await;
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

/// The built-in demo scene as a creator would zip its folder (`demo/scene.toml`, `demo/tex/…`),
/// deflated, written by Python's `zipfile`.
fn zipped_demo_scene(dir: &std::path::Path) -> std::path::PathBuf {
    let folder = dir.join("demo");
    std::fs::create_dir_all(folder.join("tex")).expect("folder");
    std::fs::write(
        folder.join("scene.toml"),
        pictor_render::builtin::scene::demo_scene_toml(),
    )
    .expect("scene");
    std::fs::write(folder.join("tex/extra.bin"), vec![5u8; 70_000]).expect("extra");
    let archive = dir.join("demo.zip");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile, os\n\
             with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n\
             \x20   for root, _, files in os.walk(sys.argv[2]):\n\
             \x20       for name in files:\n\
             \x20           path = os.path.join(root, name)\n\
             \x20           z.write(path, os.path.relpath(path, os.path.dirname(sys.argv[2])))\n",
        ])
        .arg(&archive)
        .arg(&folder)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "the scene zips");
    archive
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_creator_uploads_a_zipped_scene_sees_the_quote_watches_frames_and_downloads_the_zip() {
    let Some(browser) = Browser::start_or_skip().await else {
        return;
    };
    let network = Network::start(Config::default()).await;
    let (creator, _, key) = network.creator_named("Aurora Studio", 1000).await;
    let agents = tempfile::tempdir().expect("agents' folders");
    std::fs::create_dir_all(agents.path().join("worker")).expect("worker folder");
    std::fs::create_dir_all(agents.path().join("checker")).expect("checker folder");
    let config =
        common::agents::built_in_worker_config(&network, "gpu-1", &agents.path().join("worker"))
            .await;
    let worker = common::agents::start_worker(config, None, Default::default());
    let checker = common::agents::start_checker(&network, &agents.path().join("checker")).await;
    let files = tempfile::tempdir().expect("files");
    let archive = zipped_demo_scene(files.path());
    let page = &browser.client;
    let url = &network.url;

    page.goto(&format!("{url}/signin")).await.expect("open");
    submit_key(page, &key).await;
    wait_for_path(page, "/").await;
    page.wait()
        .for_element(Locator::Id("new-job-link"))
        .await
        .expect("the New job link")
        .click()
        .await
        .expect("open the form");
    wait_for_path(page, "/jobs/new").await;
    page.wait()
        .for_element(Locator::Css("form[data-ready=on]"))
        .await
        .expect("the page's script runs");

    // The page's BLAKE3 is the network's: whole chunks, partial ones, trees of chunks, and a
    // file read in 4 MiB slices.
    for length in [0usize, 1, 64, 1023, 1024, 1025, 2048, 3073, 65_537] {
        let script = format!(
            "const bytes = new Uint8Array({length}); \
             for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251; \
             return window.PictorBlake3.ofBytes(bytes);"
        );
        let pattern: Vec<u8> = (0..length).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            run(page, &script).await,
            blake3::hash(&pattern).to_hex().as_str(),
            "{length} bytes"
        );
    }
    let big = 9 * 1024 * 1024 + 7;
    let script = format!(
        "const bytes = new Uint8Array({big}); \
         for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256; \
         return window.PictorBlake3.ofBlob(new Blob([bytes]));"
    );
    let pattern: Vec<u8> = (0..big).map(|i| ((i * 7) % 256) as u8).collect();
    assert_eq!(
        run(page, &script).await,
        blake3::hash(&pattern).to_hex().as_str()
    );

    // Choose the zipped folder: its scene file is offered as the main file, the renderer follows.
    page.find(Locator::Id("scene-file"))
        .await
        .expect("the file field")
        .send_keys(archive.to_str().expect("utf-8 path"))
        .await
        .expect("choose the archive");
    within(
        10,
        "the archive's scene file was never offered",
        async || {
            run(page, "return document.getElementById('main-file').value;").await == "scene.toml"
        },
    )
    .await;
    assert_eq!(
        run(page, "return document.getElementById('renderer').value;").await,
        "builtin"
    );
    for (field, value) in [
        ("frames", "1-3"),
        ("width", "96"),
        ("height", "54"),
        ("samples", "16"),
    ] {
        let input = page.find(Locator::Id(field)).await.expect("a field");
        input.clear().await.expect("clear");
        input.send_keys(value).await.expect("type");
    }
    page.find(Locator::Id("output"))
        .await
        .expect("the format")
        .select_by_value("exr")
        .await
        .expect("EXR");
    run(page, "window.scrollTo(0, 0); return true;").await;
    screenshot(page, "cloud-new-job.png").await;
    page.find(Locator::Id("get-quote"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("upload");

    // The quote, before anything is held.
    let p50 = page
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Id("quote-p50"))
        .await
        .expect("the quote");
    assert!(p50.text().await.expect("text").ends_with("credits"));
    assert!(
        page.find(Locator::Id("funds-short")).await.is_err(),
        "1000 credits cover the hold"
    );
    page.find(Locator::Id("confirm"))
        .await
        .expect("the confirm button")
        .click()
        .await
        .expect("submit");
    within(10, "the job's page never opened", async || {
        let path = page.current_url().await.expect("url").path().to_string();
        path.strip_prefix("/jobs/")
            .is_some_and(|id| id.parse::<u64>().is_ok())
    })
    .await;
    let path = page.current_url().await.expect("url").path().to_string();
    let job = pictor_core::JobId(path["/jobs/".len()..].parse().expect("an id"));
    let view = creator.jobs().get(job).await.expect("the job");
    assert_eq!(view.spec.frames.len(), 3);
    assert_eq!(view.spec.output, pictor_core::OutputFormat::Exr);

    // Frames turn accepted on the open page as the real worker renders and the real checker
    // verifies them; their previews (EXR tone-mapped by the network) load.
    page.wait()
        .for_element(Locator::Css("main[data-live=on]"))
        .await
        .expect("the live script runs");
    within(
        120,
        "the frames were never all accepted on the open page",
        async || {
            let accepted = page
                .find_all(Locator::Css(".frames [data-state=accepted]"))
                .await
                .expect("tiles");
            accepted.len() == 3
        },
    )
    .await;
    within(20, "the previews never loaded", async || {
        run(
            page,
            "const pictures = Array.from(document.querySelectorAll('.frames img'));\
             return pictures.length === 3 && pictures.every((p) => p.complete && p.naturalWidth === 96);",
        )
        .await
            == true
    })
    .await;

    // The cost so far follows the accepted tasks without a reload.
    let spent = creator.jobs().get(job).await.expect("the job").spent;
    within(
        10,
        "the cost so far never caught up on the open page",
        async || {
            run(
                page,
                "return document.getElementById('job-spent').textContent;",
            )
            .await
                == spent.to_string()
        },
    )
    .await;

    // The flipbook plays the frames in turn.
    type_into(page, "flipbook-fps", "20").await;
    page.find(Locator::Id("flipbook-play"))
        .await
        .expect("play")
        .click()
        .await
        .expect("play");
    let mut shown = std::collections::BTreeSet::new();
    within(10, "the flipbook never showed every frame", async || {
        let frame = run(
            page,
            "return document.getElementById('flipbook-picture').dataset.frame;",
        )
        .await;
        if let Some(frame) = frame.as_str() {
            shown.insert(frame.to_string());
        }
        shown.len() == 3
    })
    .await;
    assert_eq!(
        run(
            page,
            "return document.getElementById('flipbook-play').getAttribute('aria-pressed');"
        )
        .await,
        "true"
    );
    run(page, "window.scrollTo(0, 0); return true;").await;
    screenshot(page, "cloud-job-live.png").await;

    // The zip holds exactly what `pictor job download` writes.
    let cookie = page
        .get_named_cookie("pictor_session")
        .await
        .expect("the session cookie");
    let archive = common::http_client()
        .get(format!("{url}/jobs/{}/frames.zip", job.0))
        .header("cookie", format!("pictor_session={}", cookie.value()))
        .send()
        .await
        .expect("zip")
        .bytes()
        .await
        .expect("body");
    let out = tempfile::tempdir().expect("dir");
    common::web::unzip(&archive, out.path());
    let downloaded = creator
        .jobs()
        .download_frames(job, out.path().join("sdk"))
        .await
        .expect("download");
    assert_eq!(downloaded.len(), 3);
    for frame in &downloaded {
        let name = frame.path.file_name().expect("a name");
        assert_eq!(
            std::fs::read(out.path().join("out").join(name)).expect("in the zip"),
            std::fs::read(&frame.path).expect("downloaded"),
            "{name:?}"
        );
    }

    // State-changing requests without the CSRF token are refused, by form and by API.
    let statuses = run(
        page,
        &format!(
            "return Promise.all([\
               fetch('/jobs/{id}/cancel', {{method: 'POST', body: new URLSearchParams({{csrf: 'x'}})}}),\
               fetch('/v1/jobs/{id}/cancel', {{method: 'POST'}})\
             ]).then((answers) => answers.map((answer) => answer.status));",
            id = job.0
        ),
    )
    .await;
    assert_eq!(statuses, serde_json::json!([403, 401]));
    assert_eq!(
        creator.jobs().get(job).await.expect("job").state,
        pictor_core::job::JobState::Completed
    );

    // The Explorer shows the job's frames, and its ledger page verifies the chain.
    page.goto(&format!("{url}/explorer"))
        .await
        .expect("Explorer");
    let text = page
        .wait()
        .for_element(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    assert!(text.contains("3 / 3"), "{text}");
    // The job's public record lists its frames; a frame's record shows its output and verdict.
    page.find(Locator::LinkText(&format!("Job {}", job.0)))
        .await
        .expect("the job's public record")
        .click()
        .await
        .expect("open it");
    wait_for_path(page, &format!("/explorer/jobs/{}", job.0)).await;
    page.wait()
        .for_element(Locator::LinkText("Frame 2"))
        .await
        .expect("frame 2's record")
        .click()
        .await
        .expect("open it");
    wait_for_path(page, &format!("/explorer/jobs/{}/frames/2", job.0)).await;
    let hash = creator
        .jobs()
        .frames(job)
        .await
        .expect("frames")
        .into_iter()
        .find(|frame| frame.frame == 2)
        .expect("frame 2")
        .hash;
    let shown = page
        .wait()
        .for_element(Locator::Css(".output-hash"))
        .await
        .expect("the output hash")
        .text()
        .await
        .expect("text");
    assert_eq!(shown, hash);
    page.goto(&format!("{url}/explorer/ledger"))
        .await
        .expect("ledger");
    page.wait()
        .for_element(Locator::Css(".verified"))
        .await
        .expect("the ledger verifies");
    worker.stop().await;
    checker.stop().await;
    browser.close().await;
}
