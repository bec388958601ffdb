//! Where tract spends its time inside each face model: every node of the
//! optimised plan timed over 100 runs on a fixed input, summed by operator
//! (`cargo bench --bench model_ops`). Not a criterion bench: it prints the
//! table that BENCHMARKS.md quotes, so that a change to the models or to
//! tract can be judged per operator.

use std::collections::HashMap;
use std::time::Instant;

use tract_tflite::internal::tract_core::plan::eval;
use tract_tflite::prelude::*;

fn profile(name: &str, file: &str, side: usize) -> TractResult<()> {
    let path = format!("{}/models/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let plan = tract_tflite::tflite()
        .model_for_read(&mut &*bytes)?
        .into_optimized()?
        .into_runnable()?;
    let mut input = Tensor::zero::<f32>(&[1, side, side, 3])?;
    for (i, x) in input
        .to_plain_array_view_mut::<f32>()?
        .iter_mut()
        .enumerate()
    {
        *x = ((i * 37) % 255) as f32 / 255.0;
    }
    let mut state = plan.spawn()?;
    let runs = 100;
    let mut per_op: HashMap<String, (f64, usize)> = HashMap::new();
    for _ in 0..10 {
        state.run(tvec![input.clone().into_tvalue()])?;
    }
    let start = Instant::now();
    for _ in 0..runs {
        state.run_plan_with_eval(
            tvec![input.clone().into_tvalue()],
            |ctx, op_state, node, inputs| {
                let t = Instant::now();
                let out = eval(ctx, op_state, node, inputs);
                let entry = per_op.entry(node.op.name().to_string()).or_default();
                entry.0 += t.elapsed().as_secs_f64();
                entry.1 += 1;
                out
            },
        )?;
    }
    let total_ms = start.elapsed().as_secs_f64() * 1e3 / runs as f64;
    println!("{name}: {total_ms:.2} ms per run (timed node by node)");
    let mut rows: Vec<_> = per_op.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    for (op, (seconds, count)) in rows.iter().take(8) {
        println!(
            "  {op:32} {:6.3} ms  {:3} nodes",
            seconds * 1e3 / runs as f64,
            count / runs
        );
    }
    Ok(())
}

fn main() -> TractResult<()> {
    // `cargo bench` passes `--bench`; any other argument is a filter no
    // other bench here takes either.
    profile("face mesh", "face_landmark.tflite", 192)?;
    profile("eye model", "iris_landmark.tflite", 64)?;
    profile("face detector", "face_detection_short_range.tflite", 128)?;
    Ok(())
}
