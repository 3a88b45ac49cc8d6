//! A new job from the browser: `GET /jobs/new` is the form; the page's scripts (`blake3.js`,
//! `new_job.js`) hash the chosen scene — a `.blend`, a scene folder or a zipped one — and upload
//! it through the API with the session (resumable and deduplicated like the SDK's uploads), then
//! post the form with the committed scene's id. `POST /jobs/new` answers with the quote (P50/P90
//! cost and time, the hold, whether a worker is online and whether the balance covers the hold)
//! and a confirm button; confirming submits the job with an idempotency key made with the quote,
//! so a double click or a resent form makes one job.

use super::layout::{message, page_with_scripts, see_other, serde_name, to_sign_in};
use super::{AppState, paths, session};
use crate::service::{ServiceError, WebSession};
use crate::store::Store;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use pictor_core::api::{AccountView, Role};
use pictor_core::job::{OutputFormat, RendererKind, Resolution, Tier, catalog};
use pictor_core::pricing::Quote;
use pictor_core::{AssetId, JobSpec, Money};
use serde::Deserialize;

/// The scripts of the new-job page: the hash, then the upload.
const SCRIPTS: [&str; 2] = [paths::BLAKE3_SCRIPT, paths::NEW_JOB_SCRIPT];
const RENDERERS: [(RendererKind, &str); 3] = [
    (RendererKind::Blender, "Blender (.blend)"),
    (RendererKind::Builtin, "Built-in path tracer (scene.toml)"),
    (
        RendererKind::Upscale,
        "AI upscale of images (one image, or a folder of 000001.png, 000002.png, …)",
    ),
];
/// The factors an upscale may ask for.
const FACTORS: [u32; 4] = pictor_core::job::UPSCALE_FACTORS;
const OUTPUTS: [(OutputFormat, &str); 4] = [
    (
        OutputFormat::Scene,
        "The scene's own output settings (Blender)",
    ),
    (OutputFormat::Png8, "PNG, 8-bit"),
    (OutputFormat::Png16, "PNG, 16-bit"),
    (OutputFormat::Exr, "OpenEXR (linear)"),
];

/// The form's fields, as the browser posts them (all text: every one is checked here).
#[derive(Clone, Debug, Deserialize)]
pub struct NewJobForm {
    #[serde(default)]
    csrf: String,
    /// The committed scene's asset id, filled in by the page's script after the upload.
    #[serde(default)]
    scene: String,
    /// What the upload was, for display (`scene.blend`, `shot_010/ (12 files)`).
    #[serde(default)]
    scene_label: String,
    /// The job's name; empty for none.
    #[serde(default)]
    name: String,
    #[serde(default)]
    renderer: String,
    #[serde(default)]
    frames: String,
    #[serde(default)]
    width: String,
    #[serde(default)]
    height: String,
    #[serde(default)]
    samples: String,
    #[serde(default)]
    output: String,
    #[serde(default)]
    tier: String,
    /// Most the creator will pay, credits; empty for no cap.
    #[serde(default)]
    budget_cap: String,
    /// An upscale's factor (`2`, `4`, `8`, `16`); the size and samples are then not used.
    #[serde(default)]
    factor: String,
    /// `quote` (from the form), `submit` (the confirm button) or `edit` (back to the form).
    #[serde(default)]
    step: String,
    /// The submission's idempotency key, made with the quote.
    #[serde(default)]
    idempotency: String,
}

impl Default for NewJobForm {
    fn default() -> Self {
        NewJobForm {
            csrf: String::new(),
            scene: String::new(),
            scene_label: String::new(),
            name: String::new(),
            renderer: serde_name(&RendererKind::Blender),
            frames: "1".into(),
            width: "1920".into(),
            height: "1080".into(),
            samples: "64".into(),
            output: serde_name(&OutputFormat::Scene),
            tier: serde_name(&Tier::Standard),
            budget_cap: String::new(),
            factor: "4".into(),
            step: String::new(),
            idempotency: String::new(),
        }
    }
}

/// The one of `known` whose serde name is `text`.
fn named<T: serde::Serialize + Copy>(known: &[T], text: &str, field: &str) -> Result<T, String> {
    known
        .iter()
        .find(|value| serde_name(*value) == text)
        .copied()
        .ok_or_else(|| format!("Choose a {field} from the list."))
}

impl NewJobForm {
    /// Whether the form asks for an upscale.
    fn is_upscale(&self) -> bool {
        self.renderer == serde_name(&RendererKind::Upscale)
    }

    /// The job spec the fields describe, or what is wrong with them, said for a person; an
    /// upscale's images are `input`-sized (read from the upload by the network).
    fn spec(&self, input: Option<Resolution>) -> Result<JobSpec, String> {
        let scene: AssetId = self
            .scene
            .trim()
            .parse()
            .map_err(|_| "Choose a scene and upload it first.".to_string())?;
        let renderer = named(&RENDERERS.map(|(kind, _)| kind), &self.renderer, "renderer")?;
        let output = named(&OUTPUTS.map(|(format, _)| format), &self.output, "format")?;
        let tier = named(&Tier::ALL, &self.tier, "tier")?;
        let frames = self
            .frames
            .trim()
            .parse()
            .map_err(|error| format!("Frames: {error}"))?;
        let number = |text: &str, what: &str| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| format!("{what} must be a whole number."))
        };
        let mut builder = match input {
            Some(input) => {
                let factor = number(&self.factor, "The upscale factor")?;
                let upscale = catalog::span_spec(factor, input, 128, 24)
                    .map_err(|error| format!("Upscale: {error}"))?;
                JobSpec::builder(scene, frames).upscale(upscale)
            }
            None => JobSpec::builder(scene, frames)
                .renderer(renderer)
                .resolution(
                    number(&self.width, "Width")?,
                    number(&self.height, "Height")?,
                )
                .samples(number(&self.samples, "Samples")?),
        }
        .output(output)
        .tier(tier);
        if !self.name.trim().is_empty() {
            builder = builder.name(self.name.trim());
        }
        if !self.budget_cap.trim().is_empty() {
            let cap: Money = self
                .budget_cap
                .parse()
                .map_err(|error| format!("Budget cap: {error}"))?;
            builder = builder.budget_cap(cap);
        }
        builder.build().map_err(|error| error.to_string())
    }

    /// Every field but the CSRF token and the step, as hidden inputs: the confirm page carries
    /// the form on.
    fn hidden(&self) -> Markup {
        let fields = [
            ("scene", &self.scene),
            ("scene_label", &self.scene_label),
            ("name", &self.name),
            ("renderer", &self.renderer),
            ("frames", &self.frames),
            ("width", &self.width),
            ("height", &self.height),
            ("samples", &self.samples),
            ("output", &self.output),
            ("tier", &self.tier),
            ("budget_cap", &self.budget_cap),
            ("factor", &self.factor),
        ];
        html! {
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
        }
    }
}

/// `GET /jobs/new`.
pub async fn form<S: Store>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let Some(session) = session::current(&state, &headers).await else {
        return to_sign_in();
    };
    if session.caller.require(Role::Creator).is_err() {
        return only_creators(&session);
    }
    form_page(StatusCode::OK, &session, &NewJobForm::default(), None)
}

fn only_creators(session: &WebSession) -> Response {
    message(
        StatusCode::FORBIDDEN,
        Some(session),
        "Only creator accounts submit jobs.",
    )
}

/// `POST /jobs/new`: the quote (`step=quote`), the submission (`step=submit`) or the form again
/// with its fields (`step=edit`).
pub async fn post<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<NewJobForm>,
) -> Response {
    let Some(session) = session::current(&state, &headers).await else {
        return to_sign_in();
    };
    if !session.csrf_matches(&form.csrf) {
        return message(
            StatusCode::FORBIDDEN,
            Some(&session),
            "This form has expired; open it again.",
        );
    }
    if session.caller.require(Role::Creator).is_err() {
        return only_creators(&session);
    }
    if form.step == "edit" {
        return form_page(StatusCode::OK, &session, &form, None);
    }
    let input = match form.is_upscale() {
        false => None,
        true => match form.scene.trim().parse::<AssetId>() {
            Err(_) => None,
            Ok(asset) => match state.upscale_input_size(&session.caller, &asset).await {
                Ok(size) => Some(size),
                Err(error) => return refused(&session, &form, &error),
            },
        },
    };
    let spec = match form.spec(input) {
        Ok(spec) => spec,
        Err(problem) => return form_page(StatusCode::BAD_REQUEST, &session, &form, Some(&problem)),
    };
    if form.step == "submit" {
        let key = Some(form.idempotency.as_str()).filter(|key| !key.is_empty());
        return match state.submit(&session.caller, &spec, None, key).await {
            Ok((job, _)) => see_other(&paths::JOB.replace("{id}", &job.id.0.to_string())),
            Err(error) => refused(&session, &form, &error),
        };
    }
    let quoted = async {
        let quote = state.quote(&session.caller, &spec).await?;
        let account = state.me(&session.caller).await?;
        Ok::<_, ServiceError>((quote, account))
    };
    match quoted.await {
        Ok((quote, account)) => quote_page(&session, &form, &quote, &account),
        Err(error) => refused(&session, &form, &error),
    }
}

/// The form again with the service's reason; a store failure is said as such.
fn refused(session: &WebSession, form: &NewJobForm, error: &ServiceError) -> Response {
    use pictor_core::api::ErrorCode;
    let text = match error.code {
        ErrorCode::Internal | ErrorCode::Unavailable => {
            tracing::warn!(%error, "a web job submission failed");
            "The network could not take the job just now; try again in a moment.".to_string()
        }
        ErrorCode::InsufficientFunds => format!(
            "Funds short: {} Deposit credits to your account, or lower the budget cap.",
            error.message
        ),
        _ => error.message.clone(),
    };
    form_page(StatusCode::BAD_REQUEST, session, form, Some(&text))
}

/// A duration in words: `45 s`, `12 min`, `3.5 h`.
fn duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{:.0} s", secs.max(1.0))
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

fn quote_page(
    session: &WebSession,
    form: &NewJobForm,
    quote: &Quote,
    account: &AccountView,
) -> Response {
    let short = account.balance < quote.escrow_hold;
    let Ok(idempotency) = crate::service::random_bytes::<16>().map(hex::encode) else {
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(session),
            "The quote could not be made just now; try again in a moment.",
        );
    };
    page_with_scripts(
        StatusCode::OK,
        "Confirm the job",
        Some(session),
        &[],
        html! {
            h1 { "Confirm the job" }
            @if !form.name.trim().is_empty() { p { "Name: " strong { (form.name) } } }
            p { "Scene: " strong { (form.scene_label) } " · frames " (form.frames) " · "
                (form.width) " × " (form.height) " · " (form.samples) " samples · " (form.tier) }
            dl #quote {
                dt { "Cost (median)" } dd #quote-p50 { (quote.cost_p50) " credits" }
                dt { "Cost (90th percentile)" } dd #quote-p90 { (quote.cost_p90) " credits" }
                dt { "Done in (median)" } dd { "about " (duration(quote.eta_p50_secs)) }
                dt { "Done in (90th percentile)" } dd { "about " (duration(quote.eta_p90_secs)) }
                dt { "Held in escrow now" } dd #quote-hold { (quote.escrow_hold) " credits"
                    @if quote.capped { " (your budget cap)" } }
                dt { "Your balance" } dd { (account.balance) " credits" }
            }
            @if quote.queued_until_online {
                p.notice role="status" #no-worker {
                    "No worker able to render this job is online now. It will wait in the queue and "
                    "start when one connects; the times above count from then."
                }
            }
            @if short {
                p.error role="alert" #funds-short {
                    "Funds short: this job holds " (quote.escrow_hold) " credits and your balance is "
                    (account.balance) ". Deposit credits, or set a lower budget cap."
                }
            } @else {
                form method="post" action=(paths::NEW_JOB) {
                    input type="hidden" name="csrf" value=(session.csrf_token);
                    input type="hidden" name="step" value="submit";
                    input type="hidden" name="idempotency" value=(idempotency);
                    (form.hidden())
                    button #confirm type="submit" { "Submit the job" }
                }
            }
            form method="post" action=(paths::NEW_JOB) {
                input type="hidden" name="csrf" value=(session.csrf_token);
                input type="hidden" name="step" value="edit";
                (form.hidden())
                button.secondary type="submit" { "Change the settings" }
            }
        },
    )
}

fn form_page(
    status: StatusCode,
    session: &WebSession,
    form: &NewJobForm,
    problem: Option<&str>,
) -> Response {
    page_with_scripts(
        status,
        "New job",
        Some(session),
        &SCRIPTS,
        html! {
            h1 { "New job" }
            @if let Some(problem) = problem {
                p.error role="alert" #form-error { (problem) }
            }
            form #new-job method="post" action=(paths::NEW_JOB) {
                input type="hidden" name="csrf" value=(session.csrf_token);
                input type="hidden" name="step" value="quote";
                input type="hidden" name="scene" value=(form.scene);
                input type="hidden" name="scene_label" value=(form.scene_label);
                fieldset {
                    legend { "Scene" }
                    noscript { p.error { "Uploading a scene needs JavaScript." } }
                    @if !form.scene.is_empty() {
                        p #scene-kept { "Uploaded: " strong { (form.scene_label) }
                            ". Choose another file to replace it." }
                    }
                    label for="scene-file" { "A .blend, a scene.toml, a zipped scene folder, or an \
                        image to upscale" }
                    input #scene-file type="file" accept=".blend,.toml,.zip,.png,.jpg,.jpeg,.exr";
                    label for="scene-folder" { "…or a scene folder" }
                    input #scene-folder type="file" webkitdirectory multiple;
                    label for="main-file" { "Main file" }
                    select #main-file disabled[form.scene.is_empty()] {}
                    progress #upload-progress value="0" max="1" aria-label="Upload progress" {}
                    p #upload-status role="status" aria-live="polite" {}
                }
                fieldset {
                    legend { "Render settings" }
                    label for="name" { "Name (optional, like Shot 010)" }
                    input #name type="text" name="name" maxlength="120" value=(form.name);
                    label for="renderer" { "Renderer" }
                    select #renderer name="renderer" {
                        @for (kind, label) in RENDERERS {
                            @let name = serde_name(&kind);
                            option value=(name) selected[name == form.renderer] { (label) }
                        }
                    }
                    label for="frames" { "Frames (like 1-250 or 1,5,10-20)" }
                    input #frames type="text" name="frames" value=(form.frames) required;
                    label for="width" { "Width, pixels" }
                    input #width type="number" name="width" min="1" value=(form.width) required;
                    label for="height" { "Height, pixels" }
                    input #height type="number" name="height" min="1" value=(form.height) required;
                    label for="samples" { "Samples per pixel" }
                    input #samples type="number" name="samples" min="1" value=(form.samples) required;
                    label for="output" { "Format" }
                    select #output name="output" {
                        @for (format, label) in OUTPUTS {
                            @let name = serde_name(&format);
                            option value=(name) selected[name == form.output] { (label) }
                        }
                    }
                    label for="tier" { "Tier" }
                    select #tier name="tier" {
                        @for tier in Tier::ALL {
                            @let name = serde_name(&tier);
                            option value=(name) selected[name == form.tier] { (name) }
                        }
                    }
                    label for="factor" { "Upscale factor (AI upscale only; the size and samples \
                        are then the images')" }
                    select #factor name="factor" {
                        @for factor in FACTORS {
                            @let name = factor.to_string();
                            option value=(name) selected[name == form.factor] { "×" (factor) }
                        }
                    }
                    label for="budget_cap" { "Budget cap, credits (empty: none)" }
                    input #budget_cap type="text" name="budget_cap" inputmode="decimal"
                        value=(form.budget_cap);
                }
                button #get-quote type="submit" { "Upload and get the quote" }
            }
        },
    )
}
