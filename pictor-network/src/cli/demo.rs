//! `pictor demo`: an embedded network (coordinator, workers, a checker) renders a job end to end.

use super::network_args::runtime;
use anyhow::{Context, Result};
use clap::Args;
use pictor_network::demo::{DemoOptions, DemoSummary, run_demo, run_demo_kept_open};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `pictor demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the accepted frames go (the network's data goes to OUT/data); a temp dir by default.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Frames to render.
    #[arg(long, default_value = "1-12")]
    frames: String,
    /// Honest workers.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    workers: u32,
    /// Renderer: builtin (the embedded default) or blender (its factory scene unless --scene).
    #[arg(long, default_value = "builtin", value_parser = ["builtin", "blender"])]
    renderer: String,
    /// Scene file to render instead of the default scene (its folder is uploaded).
    #[arg(long, value_name = "FILE")]
    scene: Option<PathBuf>,
    /// Frame width.
    #[arg(long, default_value_t = 320)]
    width: u32,
    /// Frame height.
    #[arg(long, default_value_t = 180)]
    height: u32,
    /// Samples per pixel.
    #[arg(long, default_value_t = 32)]
    samples: u32,
    /// Add a worker that returns low-sample frames, to show it caught, unpaid and barred.
    #[arg(long)]
    cheat_worker: bool,
    /// After the job, keep the network serving (its agents stopped) until Ctrl-C, to look at it in
    /// the web app: prints the URL and where the creator's key is.
    #[arg(long)]
    keep_open: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `pictor demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let options = DemoOptions {
        out: args.out,
        frames: args.frames,
        workers: args.workers,
        renderer: args.renderer,
        scene: args.scene,
        width: args.width,
        height: args.height,
        samples: args.samples,
        cheat_worker: args.cheat_worker,
        progress: !args.json && std::io::stderr().is_terminal(),
    };
    let show = |summary: &DemoSummary| -> Result<()> {
        if args.json {
            println!("{}", serde_json::to_string(summary)?);
        } else {
            print_summary(summary);
        }
        Ok(())
    };
    if !args.keep_open {
        let summary = runtime()?.block_on(run_demo(options))?;
        return show(&summary);
    }
    runtime()?.block_on(async {
        let (summary, open) = run_demo_kept_open(options).await?;
        show(&summary)?;
        eprintln!(
            "Pictor Cloud: open {}/ and sign in with the creator's key in {} (Ctrl-C stops the network)",
            open.url,
            open.creator_key_file.display()
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        open.close().await;
        Ok(())
    })
}

fn print_summary(summary: &DemoSummary) {
    println!(
        "job {}: {} frames, {} task results accepted, {} rejected",
        summary.job_id, summary.frames, summary.accepted, summary.rejected
    );
    println!(
        "quote {} (P50) / {} (P90), hold {}; charged {}, refunded {}",
        summary.quote.cost_p50,
        summary.quote.cost_p90,
        summary.quote.escrow_hold,
        summary.charged,
        summary.refunded
    );
    for worker in &summary.workers {
        println!(
            "  worker {:<8} {:>2} accepted, {:>2} rejected, earned {}{}",
            worker.name,
            worker.accepted,
            worker.rejected,
            worker.earned,
            if worker.cheat { "  (the cheat)" } else { "" }
        );
    }
    println!(
        "  checker earned {}, network fees {}",
        summary.checker_earned, summary.network_fees
    );
    println!(
        "ledger {}; frames in {}; {:.1} s",
        if summary.ledger_ok {
            "verified"
        } else {
            "FAILED verification"
        },
        summary.out,
        summary.wall_ms as f64 / 1000.0
    );
}
