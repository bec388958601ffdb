//! The face models on XNNPACK, Google's CPU inference library (the engine
//! under TensorFlow Lite and MediaPipe), loaded at run time from the
//! system's `libXNNPACK.so.0` (Debian: `libxnnpack0`).
//!
//! Why: the three models are most of an analysis's CPU time, and tract, a
//! pure-Rust runtime, takes about three times as long as XNNPACK on them
//! (eye model 2.3 against 0.8 ms a run, face mesh 3.6 against 0.9 ms, one
//! core here; see BENCHMARKS.md). XNNPACK is loaded with `dlopen`, not
//! linked, so a machine without it still runs everything, on tract
//! ([`crate::face`] chooses).
//!
//! The models are the float32 TFLite files in `models/`; their graph is
//! read with tract's TFLite schema and each operator defined in an XNNPACK
//! subgraph, which is compiled once into a runtime bound to this net's own
//! input and output buffers. Only the operators those models use are
//! translated; anything else is an error at load time, never a wrong answer.
//!
//! The declarations below follow Debian 12's XNNPACK (a 2022 snapshot, the
//! `.so.0` every XNNPACK build installs); a function missing from another
//! build makes the engine fall back to tract. The LiteRT reference test in
//! [`crate::face`] checks the numbers on the machine it runs on.

use std::ffi::c_void;
use std::ptr;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail, ensure};
use tract_tflite::tflite::{self, ActivationFunctionType, BuiltinOperator, Padding, TensorType};

/// The library's file names, the versioned one first (the package that
/// installs it without its development files ships only that one).
const LIBRARY_NAMES: [&str; 2] = ["libXNNPACK.so.0", "libXNNPACK.so"];

type Subgraph = *mut c_void;
type Runtime = *mut c_void;

/// `struct xnn_external_value`.
#[repr(C)]
struct ExternalValue {
    id: u32,
    data: *mut c_void,
}

const STATUS_SUCCESS: i32 = 0;
const DATATYPE_FP32: i32 = 1;
const VALUE_FLAG_EXTERNAL_INPUT: u32 = 1;
const VALUE_FLAG_EXTERNAL_OUTPUT: u32 = 2;
const INVALID_VALUE_ID: u32 = u32::MAX;
const FLAG_TENSORFLOW_SAME_PADDING: u32 = 4;

/// The functions of XNNPACK's subgraph API this module calls, as `xnnpack.h`
/// declares them (the parameters named where the C names say more than
/// their types). Every one returns an `enum xnn_status`.
#[rustfmt::skip]
struct Api {
    /// (external value ids, flags, subgraph out)
    create_subgraph: unsafe extern "C" fn(u32, u32, *mut Subgraph) -> i32,
    delete_subgraph: unsafe extern "C" fn(Subgraph) -> i32,
    /// (subgraph, datatype, dims count, dims, data or null, external id, flags, id out)
    define_tensor_value: unsafe extern "C" fn(Subgraph, i32, usize, *const usize, *const c_void, u32, u32, *mut u32) -> i32,
    /// (subgraph, padding top, right, bottom, left, kernel height, width, stride height, width,
    /// dilation height, width, groups, input channels per group, output channels per group,
    /// output min, max, input id, filter id, bias id, output id, flags)
    define_convolution_2d: unsafe extern "C" fn(Subgraph, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, usize, usize, f32, f32, u32, u32, u32, u32, u32) -> i32,
    /// (subgraph, padding top, right, bottom, left, kernel height, width, stride height, width,
    /// dilation height, width, depth multiplier, input channels, output min, max, input id,
    /// filter id, bias id, output id, flags)
    define_depthwise_convolution_2d: unsafe extern "C" fn(Subgraph, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, usize, f32, f32, u32, u32, u32, u32, u32) -> i32,
    /// (subgraph, padding top, right, bottom, left, pooling height, width, stride height, width,
    /// dilation height, width, output min, max, input id, output id, flags)
    define_max_pooling_2d: unsafe extern "C" fn(Subgraph, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, f32, f32, u32, u32, u32) -> i32,
    /// (subgraph, output min, max, input ids, output id, flags); numpy broadcasting
    define_add2: unsafe extern "C" fn(Subgraph, f32, f32, u32, u32, u32, u32) -> i32,
    define_multiply2: unsafe extern "C" fn(Subgraph, f32, f32, u32, u32, u32, u32) -> i32,
    /// (subgraph, input ids, output id, flags)
    define_maximum2: unsafe extern "C" fn(Subgraph, u32, u32, u32, u32) -> i32,
    define_minimum2: unsafe extern "C" fn(Subgraph, u32, u32, u32, u32) -> i32,
    /// (subgraph, paddings before, after (one per dimension), value, input id, output id, flags)
    define_static_constant_pad: unsafe extern "C" fn(Subgraph, *const usize, *const usize, f32, u32, u32, u32) -> i32,
    /// (subgraph, dims count, new shape, input id, output id, flags)
    define_static_reshape: unsafe extern "C" fn(Subgraph, usize, *const usize, u32, u32, u32) -> i32,
    /// (subgraph, thread pool or null, flags, runtime out)
    create_runtime_v2: unsafe extern "C" fn(Subgraph, *mut c_void, u32, *mut Runtime) -> i32,
    /// (runtime, external values count, external values)
    setup_runtime: unsafe extern "C" fn(Runtime, usize, *const ExternalValue) -> i32,
    invoke_runtime: unsafe extern "C" fn(Runtime) -> i32,
    delete_runtime: unsafe extern "C" fn(Runtime) -> i32,
    /// Keeps the library mapped for as long as the pointers above are used
    /// (the whole process: the API lives in a static).
    _library: libloading::Library,
}

impl Api {
    fn load() -> Result<Api> {
        let mut errors = Vec::new();
        for name in LIBRARY_NAMES {
            // SAFETY: loading XNNPACK runs no initialisers with preconditions
            // (it is a plain C library); its functions are called only
            // through the signatures of its header, below.
            match unsafe { libloading::Library::new(name) } {
                Ok(library) => return Api::resolve(library),
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        bail!("XNNPACK is not installed ({})", errors.join("; "))
    }

    fn resolve(library: libloading::Library) -> Result<Api> {
        macro_rules! get {
            ($name:literal) => {
                // SAFETY: the symbol is the XNNPACK function of that name,
                // whose C signature the field's type repeats.
                *unsafe { library.get($name) }
                    .with_context(|| format!("XNNPACK lacks {}", String::from_utf8_lossy($name)))?
            };
        }
        let initialize: unsafe extern "C" fn(*const c_void) -> i32 = get!(b"xnn_initialize\0");
        // SAFETY: a null allocator asks for XNNPACK's default one;
        // initialising more than once is allowed.
        check(unsafe { initialize(ptr::null()) }, "initialising XNNPACK")?;
        Ok(Api {
            create_subgraph: get!(b"xnn_create_subgraph\0"),
            delete_subgraph: get!(b"xnn_delete_subgraph\0"),
            define_tensor_value: get!(b"xnn_define_tensor_value\0"),
            define_convolution_2d: get!(b"xnn_define_convolution_2d\0"),
            define_depthwise_convolution_2d: get!(b"xnn_define_depthwise_convolution_2d\0"),
            define_max_pooling_2d: get!(b"xnn_define_max_pooling_2d\0"),
            define_add2: get!(b"xnn_define_add2\0"),
            define_multiply2: get!(b"xnn_define_multiply2\0"),
            define_maximum2: get!(b"xnn_define_maximum2\0"),
            define_minimum2: get!(b"xnn_define_minimum2\0"),
            define_static_constant_pad: get!(b"xnn_define_static_constant_pad\0"),
            define_static_reshape: get!(b"xnn_define_static_reshape\0"),
            create_runtime_v2: get!(b"xnn_create_runtime_v2\0"),
            setup_runtime: get!(b"xnn_setup_runtime\0"),
            invoke_runtime: get!(b"xnn_invoke_runtime\0"),
            delete_runtime: get!(b"xnn_delete_runtime\0"),
            _library: library,
        })
    }
}

fn check(status: i32, what: &str) -> Result<()> {
    ensure!(
        status == STATUS_SUCCESS,
        "XNNPACK: {what} failed (status {status})"
    );
    Ok(())
}

/// XNNPACK, loaded once per process; the error says why it is not there.
fn api() -> Result<&'static Api> {
    static API: OnceLock<std::result::Result<Api, String>> = OnceLock::new();
    API.get_or_init(|| Api::load().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow!("{e}"))
}

/// Whether XNNPACK can be used on this machine, and if not, why.
pub fn available() -> Result<()> {
    api().map(|_| ())
}

/// One TFLite model compiled for XNNPACK, with its own input and output
/// buffers (bound once; each run reads and writes the same memory).
pub struct XnnNet {
    api: &'static Api,
    runtime: Runtime,
    input: Vec<f32>,
    outputs: Vec<Vec<f32>>,
    /// The weights the runtime reads in place (XNNPACK packs convolution
    /// filters into its own memory, but reads other constants, such as the
    /// slopes of the models' PReLU layers, from here at every run).
    _constants: Vec<Vec<f32>>,
}

// SAFETY: an XNNPACK runtime may be used from any thread, one call at a
// time; `XnnNet` is not `Sync`, and every call takes `&mut self`.
unsafe impl Send for XnnNet {}

impl Drop for XnnNet {
    fn drop(&mut self) {
        // SAFETY: the runtime was created by this net and is used by nothing
        // else; nothing useful can be done if deleting it fails.
        unsafe { (self.api.delete_runtime)(self.runtime) };
    }
}

impl XnnNet {
    /// Compiles the model in `bytes` (a float32 TFLite flatbuffer with one
    /// input). With `keep`, only the output of that many values is
    /// computed, and the operators feeding only the others are left out.
    pub fn load(bytes: &[u8], keep: Option<usize>) -> Result<XnnNet> {
        let api = api()?;
        let model = tflite::root_as_model(bytes).context("reading the TFLite model")?;
        let graph = model
            .subgraphs()
            .filter(|g| !g.is_empty())
            .context("the model has no graph")?
            .get(0);
        let tensors = graph.tensors().context("the model has no tensors")?;
        let buffers = model.buffers().context("the model has no buffers")?;
        let codes = model
            .operator_codes()
            .context("the model has no operators")?;
        let operators = graph.operators().context("the model has no operators")?;
        let inputs: Vec<usize> = graph
            .inputs()
            .context("the model has no input")?
            .iter()
            .map(|i| i as usize)
            .collect();
        ensure!(inputs.len() == 1, "the model has {} inputs", inputs.len());
        let shape = |t: usize| -> Vec<usize> {
            tensors
                .get(t)
                .shape()
                .map(|s| s.iter().map(|d| d.max(0) as usize).collect())
                .unwrap_or_default()
        };
        let data = |t: usize| -> Option<&[u8]> {
            let buffer = buffers.get(tensors.get(t).buffer() as usize);
            buffer.data().map(|d| d.bytes()).filter(|d| !d.is_empty())
        };
        let mut outputs: Vec<usize> = graph
            .outputs()
            .context("the model has no output")?
            .iter()
            .map(|i| i as usize)
            .collect();
        if let Some(len) = keep {
            outputs.retain(|&t| shape(t).iter().product::<usize>() == len);
            ensure!(
                outputs.len() == 1,
                "the model has no single output of {len} values"
            );
        }

        // The operators the kept outputs need, found backwards.
        let mut needed = vec![false; tensors.len()];
        for &t in &outputs {
            needed[t] = true;
        }
        let mut used_ops = vec![false; operators.len()];
        for (k, op) in operators.iter().enumerate().rev() {
            let outs = op.outputs().context("an operator without outputs")?;
            if outs.iter().any(|t| t >= 0 && needed[t as usize]) {
                used_ops[k] = true;
                for t in op.inputs().context("an operator without inputs")?.iter() {
                    if t >= 0 {
                        needed[t as usize] = true;
                    }
                }
            }
        }

        let mut subgraph: Subgraph = ptr::null_mut();
        // SAFETY: creates a subgraph with one external value per input and
        // kept output, written to `subgraph`.
        check(
            unsafe { (api.create_subgraph)(1 + outputs.len() as u32, 0, &mut subgraph) },
            "creating a subgraph",
        )?;
        let mut builder = Builder {
            api,
            subgraph,
            ids: vec![INVALID_VALUE_ID; tensors.len()],
            constants: Vec::new(),
        };
        let result = (|| -> Result<Runtime> {
            for (k, op) in operators.iter().enumerate() {
                if !used_ops[k] {
                    continue;
                }
                let code = codes.get(op.opcode_index() as usize);
                // Old files keep the operator in the deprecated byte only.
                let kind = code
                    .builtin_code()
                    .max(BuiltinOperator(code.deprecated_builtin_code() as i32));
                let ins: Vec<i32> = op.inputs().context("inputs")?.iter().collect();
                let outs: Vec<i32> = op.outputs().context("outputs")?.iter().collect();
                ensure!(
                    outs.len() == 1 && !ins.is_empty() && ins[0] >= 0,
                    "operator {kind:?} has {} inputs and {} outputs",
                    ins.len(),
                    outs.len()
                );
                // The paddings of PAD and the shape of RESHAPE are integer
                // constants read here, not values of the graph.
                let value_inputs = match kind {
                    BuiltinOperator::PAD | BuiltinOperator::RESHAPE => 1,
                    _ => ins.len(),
                };
                let value = |t: usize, b: &mut Builder| -> Result<u32> {
                    let flags = if inputs.contains(&t) {
                        VALUE_FLAG_EXTERNAL_INPUT
                    } else if outputs.contains(&t) {
                        VALUE_FLAG_EXTERNAL_OUTPUT
                    } else {
                        0
                    };
                    let external = if t == inputs[0] {
                        0
                    } else if let Some(k) = outputs.iter().position(|&o| o == t) {
                        1 + k as u32
                    } else {
                        INVALID_VALUE_ID
                    };
                    // Every value is defined as float32: another type is
                    // an error here, not a misread buffer later.
                    ensure!(
                        tensors.get(t).type_() == TensorType::FLOAT32,
                        "a {:?} tensor in {kind:?}",
                        tensors.get(t).type_()
                    );
                    b.value(t, &shape(t), data(t), external, flags)
                };
                let mut ids = Vec::with_capacity(ins.len());
                for &t in &ins[..value_inputs] {
                    ids.push(if t < 0 {
                        INVALID_VALUE_ID
                    } else {
                        value(t as usize, &mut builder)?
                    });
                }
                let out = value(outs[0] as usize, &mut builder)?;
                let optional = |k: usize| ids.get(k).copied().unwrap_or(INVALID_VALUE_ID);
                let s = builder.subgraph;
                // SAFETY (every call below): the subgraph is live, the ids
                // were defined in it, and the arrays outlive the call.
                let status = match kind {
                    BuiltinOperator::CONV_2D => {
                        let o = op
                            .builtin_options_as_conv_2_doptions()
                            .context("CONV_2D options")?;
                        // Filter: output channels, height, width, input channels.
                        let f = shape(ins[1] as usize);
                        let channels = *shape(ins[0] as usize).last().context("input shape")?;
                        // Grouped convolutions (filter narrower than the
                        // input) are not translated.
                        ensure!(
                            f.len() == 4 && f[3] == channels,
                            "CONV_2D filter of shape {f:?} on {channels} channels"
                        );
                        let (lo, hi) = activation(o.fused_activation_function())?;
                        unsafe {
                            (api.define_convolution_2d)(
                                s,
                                0,
                                0,
                                0,
                                0,
                                f[1] as u32,
                                f[2] as u32,
                                o.stride_h() as u32,
                                o.stride_w() as u32,
                                o.dilation_h_factor() as u32,
                                o.dilation_w_factor() as u32,
                                1,
                                f[3],
                                f[0],
                                lo,
                                hi,
                                ids[0],
                                ids[1],
                                optional(2),
                                out,
                                padding_flags(o.padding()),
                            )
                        }
                    }
                    BuiltinOperator::DEPTHWISE_CONV_2D => {
                        let o = op
                            .builtin_options_as_depthwise_conv_2_doptions()
                            .context("DEPTHWISE_CONV_2D options")?;
                        // Filter: 1, height, width, channels x multiplier.
                        let f = shape(ins[1] as usize);
                        let channels = *shape(ins[0] as usize).last().context("input shape")?;
                        ensure!(
                            f.len() == 4 && channels > 0 && f[3] % channels == 0,
                            "DEPTHWISE_CONV_2D filter of shape {f:?} on {channels} channels"
                        );
                        let (lo, hi) = activation(o.fused_activation_function())?;
                        unsafe {
                            (api.define_depthwise_convolution_2d)(
                                s,
                                0,
                                0,
                                0,
                                0,
                                f[1] as u32,
                                f[2] as u32,
                                o.stride_h() as u32,
                                o.stride_w() as u32,
                                o.dilation_h_factor() as u32,
                                o.dilation_w_factor() as u32,
                                (f[3] / channels) as u32,
                                channels,
                                lo,
                                hi,
                                ids[0],
                                ids[1],
                                optional(2),
                                out,
                                padding_flags(o.padding()),
                            )
                        }
                    }
                    BuiltinOperator::MAX_POOL_2D => {
                        let o = op
                            .builtin_options_as_pool_2_doptions()
                            .context("MAX_POOL_2D options")?;
                        let (lo, hi) = activation(o.fused_activation_function())?;
                        unsafe {
                            (api.define_max_pooling_2d)(
                                s,
                                0,
                                0,
                                0,
                                0,
                                o.filter_height() as u32,
                                o.filter_width() as u32,
                                o.stride_h() as u32,
                                o.stride_w() as u32,
                                1,
                                1,
                                lo,
                                hi,
                                ids[0],
                                out,
                                padding_flags(o.padding()),
                            )
                        }
                    }
                    BuiltinOperator::ADD => {
                        let (lo, hi) = activation(
                            op.builtin_options_as_add_options()
                                .map_or(ActivationFunctionType::NONE, |o| {
                                    o.fused_activation_function()
                                }),
                        )?;
                        unsafe { (api.define_add2)(s, lo, hi, ids[0], ids[1], out, 0) }
                    }
                    BuiltinOperator::MUL => {
                        let (lo, hi) = activation(
                            op.builtin_options_as_mul_options()
                                .map_or(ActivationFunctionType::NONE, |o| {
                                    o.fused_activation_function()
                                }),
                        )?;
                        unsafe { (api.define_multiply2)(s, lo, hi, ids[0], ids[1], out, 0) }
                    }
                    BuiltinOperator::MAXIMUM => unsafe {
                        (api.define_maximum2)(s, ids[0], ids[1], out, 0)
                    },
                    BuiltinOperator::MINIMUM => unsafe {
                        (api.define_minimum2)(s, ids[0], ids[1], out, 0)
                    },
                    BuiltinOperator::PAD => {
                        let paddings = data(ins[1] as usize).context("PAD without paddings")?;
                        let v: Vec<usize> = paddings
                            .chunks_exact(4)
                            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]).max(0) as usize)
                            .collect();
                        let rank = shape(ins[0] as usize).len();
                        ensure!(v.len() == 2 * rank, "PAD paddings {v:?} for rank {rank}");
                        let before: Vec<usize> = v.iter().step_by(2).copied().collect();
                        let after: Vec<usize> = v.iter().skip(1).step_by(2).copied().collect();
                        unsafe {
                            (api.define_static_constant_pad)(
                                s,
                                before.as_ptr(),
                                after.as_ptr(),
                                0.0,
                                ids[0],
                                out,
                                0,
                            )
                        }
                    }
                    BuiltinOperator::RESHAPE => {
                        let to = shape(outs[0] as usize);
                        unsafe {
                            (api.define_static_reshape)(s, to.len(), to.as_ptr(), ids[0], out, 0)
                        }
                    }
                    other => bail!("operator {other:?} is not translated for XNNPACK"),
                };
                check(status, &format!("defining {kind:?}"))?;
            }
            let mut runtime: Runtime = ptr::null_mut();
            // SAFETY: compiles the complete subgraph, one thread (no pool):
            // the engine runs the models on threads of its own.
            check(
                unsafe {
                    (api.create_runtime_v2)(builder.subgraph, ptr::null_mut(), 0, &mut runtime)
                },
                "compiling the model",
            )?;
            Ok(runtime)
        })();
        // SAFETY: the runtime, if any, no longer needs the subgraph.
        unsafe { (api.delete_subgraph)(builder.subgraph) };
        let runtime = result?;

        let mut net = XnnNet {
            api,
            runtime,
            input: vec![0.0; shape(inputs[0]).iter().product()],
            outputs: outputs
                .iter()
                .map(|&t| vec![0.0; shape(t).iter().product()])
                .collect(),
            _constants: builder.constants,
        };
        let mut external = vec![ExternalValue {
            id: 0,
            data: net.input.as_mut_ptr().cast(),
        }];
        for (k, out) in net.outputs.iter_mut().enumerate() {
            external.push(ExternalValue {
                id: 1 + k as u32,
                data: out.as_mut_ptr().cast(),
            });
        }
        // SAFETY: binds the net's own buffers, which live (and stay where
        // they are: never resized) as long as the runtime.
        check(
            unsafe { (api.setup_runtime)(net.runtime, external.len(), external.as_ptr()) },
            "binding the model's buffers",
        )?;
        Ok(net)
    }

    /// The input values, filled in place before [`XnnNet::run`].
    pub fn input_mut(&mut self) -> &mut [f32] {
        &mut self.input
    }

    /// Runs the model on the current input.
    pub fn run(&mut self) -> Result<()> {
        // SAFETY: the runtime is bound to buffers this net owns.
        check(
            unsafe { (self.api.invoke_runtime)(self.runtime) },
            "running the model",
        )
    }

    /// How many outputs a run gives.
    pub fn output_count(&self) -> usize {
        self.outputs.len()
    }

    /// The output of `len` values, from the last run.
    pub fn output(&self, len: usize) -> Option<&[f32]> {
        self.outputs
            .iter()
            .find(|o| o.len() == len)
            .map(|o| o.as_slice())
    }
}

/// Defines the graph's values in a subgraph, each once.
struct Builder {
    api: &'static Api,
    subgraph: Subgraph,
    /// XNNPACK's value id of each TFLite tensor, once defined.
    ids: Vec<u32>,
    constants: Vec<Vec<f32>>,
}

impl Builder {
    fn value(
        &mut self,
        tensor: usize,
        dims: &[usize],
        constant: Option<&[u8]>,
        external: u32,
        flags: u32,
    ) -> Result<u32> {
        if self.ids[tensor] != INVALID_VALUE_ID {
            return Ok(self.ids[tensor]);
        }
        let mut data: *const c_void = ptr::null();
        if let Some(bytes) = constant {
            ensure!(
                bytes.len() == 4 * dims.iter().product::<usize>(),
                "constant of {} bytes for shape {dims:?}",
                bytes.len()
            );
            // Copied: the flatbuffer's bytes need not be aligned for f32.
            let values: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            data = values.as_ptr().cast();
            self.constants.push(values);
        }
        let mut id = INVALID_VALUE_ID;
        // SAFETY: `dims` and `data` outlive the call; `data` (moved into
        // `constants`, its heap buffer unchanged) outlives the runtime.
        check(
            unsafe {
                (self.api.define_tensor_value)(
                    self.subgraph,
                    DATATYPE_FP32,
                    dims.len(),
                    dims.as_ptr(),
                    data,
                    external,
                    flags,
                    &mut id,
                )
            },
            "defining a value",
        )?;
        self.ids[tensor] = id;
        Ok(id)
    }
}

/// Output bounds of a fused activation.
fn activation(a: ActivationFunctionType) -> Result<(f32, f32)> {
    Ok(match a {
        ActivationFunctionType::NONE => (f32::NEG_INFINITY, f32::INFINITY),
        ActivationFunctionType::RELU => (0.0, f32::INFINITY),
        ActivationFunctionType::RELU6 => (0.0, 6.0),
        other => bail!("fused activation {other:?} is not translated for XNNPACK"),
    })
}

/// TFLite's SAME padding is XNNPACK's TensorFlow padding flag (the pads are
/// then worked out from the input size, as TFLite does); VALID is none.
fn padding_flags(p: Padding) -> u32 {
    if p == Padding::SAME {
        FLAG_TENSORFLOW_SAME_PADDING
    } else {
        0
    }
}
