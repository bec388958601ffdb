#!/usr/bin/env python3
"""Prepare MediaPipe's face models for tract-tflite.

Downloads the `mediapipe` wheel from PyPI, extracts the BlazeFace short-range
detector, the FaceMesh landmark model and the eye (iris) landmark model, and
rewrites the flatbuffers so that tract-tflite 0.23 can load them.  The rewrite is lossless:

* DEQUANTIZE of an fp16 constant -> the constant itself, stored as fp32
  (every fp16 value is exactly representable in fp32), and the op is dropped.
* PRELU(x, a) -> ADD(MAXIMUM(x, 0), MUL(MINIMUM(x, 0), a)).  For every x one
  of the two terms is exactly zero, so the result is bit-identical.  Where the
  channel count is not a multiple of 64, the slopes `a` are stored at the full
  shape of x (see `expand_prelu`: tract's fast per-channel product needs it).

tract-tflite implements neither DEQUANTIZE nor PRELU; both sit in the old
schema's `deprecated_builtin_code` field (6 and 54).

Needs: Python 3 with `pip`, plus the `flatbuffers` and `numpy` packages
(`python3 -m pip install --user flatbuffers numpy`).  The flatbuffer schema
module (`schema_py_generated.py`) comes from the wheel itself.

Usage:  python3 models/prepare_models.py [--wheel PATH] [--out DIR] [--verify]

--verify compares the original and rewritten models on random inputs with
Google's own runtime (`ai_edge_litert`, PyPI `ai-edge-litert`) if importable.
"""

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

MEDIAPIPE_VERSION = "0.10.21"

# (path inside the wheel, output name, sha256 of the original file).  The
# models are the same bytes in every platform's wheel of this version; the
# hash guards against a silently different upstream file.
MODELS = [
    (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ),
    (
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    ),
    (
        "mediapipe/modules/iris_landmark/iris_landmark.tflite",
        "iris_landmark.tflite",
        "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    ),
]
SCHEMA_IN_WHEEL = "mediapipe/tasks/metadata/schema_py_generated.py"
LICENSE_IN_WHEEL = f"mediapipe-{MEDIAPIPE_VERSION}.dist-info/LICENSE"

# Old-schema opcodes (the `deprecated_builtin_code` values).
OP_ADD = 0
OP_DEQUANTIZE = 6
OP_MUL = 18
OP_PRELU = 54
OP_MAXIMUM = 55
OP_MINIMUM = 57


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(dest: str) -> str:
    """`pip download --no-deps mediapipe==VERSION` into `dest`; returns the path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
         f"mediapipe=={MEDIAPIPE_VERSION}", "-d", dest],
        check=True,
    )
    wheels = [f for f in os.listdir(dest) if f.startswith("mediapipe-") and f.endswith(".whl")]
    if len(wheels) != 1:
        sys.exit(f"expected one mediapipe wheel in {dest}, found {wheels}")
    return os.path.join(dest, wheels[0])


def load_schema(wheel: zipfile.ZipFile, tmp: str):
    """Imports the wheel's generated TFLite flatbuffer schema module."""
    path = os.path.join(tmp, "schema_py_generated.py")
    with open(path, "wb") as f:
        f.write(wheel.read(SCHEMA_IN_WHEEL))
    spec = importlib.util.spec_from_file_location("schema_py_generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def opcode_of(code) -> int:
    # Old files keep the real code in the deprecated i8 field and leave
    # `builtinCode` at 0; new files set both.  The larger one is the real one.
    return max(code.deprecatedBuiltinCode, code.builtinCode)


class Rewriter:
    def __init__(self, s, model):
        self.s = s
        self.m = model
        if len(model.subgraphs) != 1:
            raise ValueError("expected a single subgraph")
        self.g = model.subgraphs[0]
        self.stats = {"dequantize_folded": 0, "prelu_rewritten": 0, "prelu_slopes_expanded": 0,
                      "prelu_as_max": 0}

    # --- helpers -------------------------------------------------------------

    def opcode_index(self, code: int) -> int:
        for i, oc in enumerate(self.m.operatorCodes):
            if opcode_of(oc) == code:
                return i
        oc = self.s.OperatorCodeT()
        oc.deprecatedBuiltinCode = code
        oc.builtinCode = code
        oc.version = 1
        self.m.operatorCodes.append(oc)
        return len(self.m.operatorCodes) - 1

    def add_buffer(self, data) -> int:
        import numpy as np
        b = self.s.BufferT()
        b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
        self.m.buffers.append(b)
        return len(self.m.buffers) - 1

    def add_tensor(self, name: bytes, shape, buffer: int = 0) -> int:
        import numpy as np
        t = self.s.TensorT()
        t.name = name
        t.shape = np.array(shape, dtype=np.int32)
        t.type = self.s.TensorType.FLOAT32
        t.buffer = buffer
        self.g.tensors.append(t)
        return len(self.g.tensors) - 1

    def new_op(self, code: int, inputs, outputs, options=None):
        op = self.s.OperatorT()
        op.opcodeIndex = self.opcode_index(code)
        op.inputs = list(inputs)
        op.outputs = list(outputs)
        if code == OP_ADD:
            op.builtinOptionsType = self.s.BuiltinOptions.AddOptions
            op.builtinOptions = self.s.AddOptionsT()
        elif code == OP_MUL:
            op.builtinOptionsType = self.s.BuiltinOptions.MulOptions
            op.builtinOptions = self.s.MulOptionsT()
        elif code in (OP_MAXIMUM, OP_MINIMUM):
            op.builtinOptionsType = self.s.BuiltinOptions.MaximumMinimumOptions
            op.builtinOptions = self.s.MaximumMinimumOptionsT()
        return op

    def buffer_bytes(self, tensor) -> bytes:
        b = self.m.buffers[tensor.buffer]
        return b"" if b.data is None else bytes(bytearray(b.data))

    # --- the rewrites --------------------------------------------------------

    def fold_dequantize(self, op):
        import numpy as np
        (src_ix,), (dst_ix,) = op.inputs, op.outputs
        src, dst = self.g.tensors[src_ix], self.g.tensors[dst_ix]
        if src.type != self.s.TensorType.FLOAT16 or dst.type != self.s.TensorType.FLOAT32:
            raise ValueError(f"DEQUANTIZE {src.name} is not fp16 -> fp32")
        if src.quantization is not None and src.quantization.scale is not None:
            raise ValueError(f"DEQUANTIZE {src.name} has quantisation parameters")
        raw = self.buffer_bytes(src)
        if not raw:
            raise ValueError(f"DEQUANTIZE input {src.name} is not a constant")
        values = np.frombuffer(raw, dtype="<f2").astype("<f4")
        if values.size != int(np.prod(dst.shape)):
            raise ValueError(f"DEQUANTIZE {src.name}: {values.size} values for shape {dst.shape}")
        dst.buffer = self.add_buffer(values)
        self.stats["dequantize_folded"] += 1

    def expand_prelu(self, op, zero_ix: int):
        import numpy as np
        x_ix, alpha_ix = op.inputs
        (y_ix,) = op.outputs
        y = self.g.tensors[y_ix]
        shape = list(y.shape)
        name = y.name if isinstance(y.name, bytes) else str(y.name).encode()
        alpha = self.g.tensors[alpha_ix]
        raw = self.buffer_bytes(alpha)
        if not raw:
            raise ValueError(f"PRELU {name} has no constant slope")
        slopes = np.frombuffer(raw, dtype="<f4")
        if slopes.size != shape[-1]:
            raise ValueError(f"PRELU {name}: {slopes.size} slopes for {shape[-1]} channels")
        # tract (0.23) runs a per-channel product (x of 1 x ... x C times
        # slopes of 1 x ... x 1 x C) as one vectorised pass only when C is a
        # multiple of 64 (it compares the channel count with the SIMD width
        # in bytes); otherwise it takes a generic broadcast that cost 43% of
        # FaceMesh's time. For those layers the slopes are stored at the full
        # shape of x, so the product is element by element: the same
        # products, so the same bits, for at most a few MB more.
        if shape[-1] % 64 == 0:
            slope_shape = [1] * (len(shape) - 1) + [shape[-1]]
            slope_values = slopes
        else:
            slope_shape = shape
            slope_values = np.ascontiguousarray(np.broadcast_to(slopes, shape))
            self.stats["prelu_slopes_expanded"] += 1
        slope_ix = self.add_tensor(
            name + b"/prelu_slope", slope_shape, self.add_buffer(slope_values))
        self.stats["prelu_rewritten"] += 1
        scaled = self.add_tensor(name + b"/prelu_scaled", shape)
        # With every slope at most 1, x * a <= x for x > 0 and x * a >= x
        # for x < 0, so PRELU(x) = MAXIMUM(x, x * a): two passes over x
        # instead of four (tract fuses neither form further), the same
        # products, so the same values (only the sign of a zero may differ).
        # 42 of the eye model's 53 layers and 18 of FaceMesh's 23 qualify;
        # the others have a slope above 1 and keep the four-op form.
        if np.all(slopes <= 1.0):
            self.stats["prelu_as_max"] += 1
            return [
                self.new_op(OP_MUL, [x_ix, slope_ix], [scaled]),
                self.new_op(OP_MAXIMUM, [x_ix, scaled], [y_ix]),
            ]
        pos = self.add_tensor(name + b"/prelu_pos", shape)
        neg = self.add_tensor(name + b"/prelu_neg", shape)
        return [
            self.new_op(OP_MAXIMUM, [x_ix, zero_ix], [pos]),
            self.new_op(OP_MINIMUM, [x_ix, zero_ix], [neg]),
            self.new_op(OP_MUL, [neg, slope_ix], [scaled]),
            self.new_op(OP_ADD, [pos, scaled], [y_ix]),
        ]

    def run(self):
        import numpy as np
        codes = [opcode_of(oc) for oc in self.m.operatorCodes]
        zero_ix = None
        new_ops = []
        for op in self.g.operators:
            code = codes[op.opcodeIndex]
            if code == OP_DEQUANTIZE:
                self.fold_dequantize(op)
            elif code == OP_PRELU:
                if zero_ix is None:
                    zero_ix = self.add_tensor(
                        b"prelu_zero", [1], self.add_buffer(np.zeros(1, dtype="<f4")))
                new_ops.extend(self.expand_prelu(op, zero_ix))
            else:
                new_ops.append(op)
        self.g.operators = new_ops
        self.compact()
        return self.stats

    def compact(self):
        """Drops tensors, buffers and opcodes that nothing refers to any more."""
        g, m = self.g, self.m
        used = set(int(i) for i in g.inputs) | set(int(i) for i in g.outputs)
        for op in g.operators:
            used.update(int(i) for i in op.inputs if i >= 0)
            used.update(int(i) for i in op.outputs)
        tensor_map = {}
        tensors = []
        for i, t in enumerate(g.tensors):
            if i in used:
                tensor_map[i] = len(tensors)
                tensors.append(t)
        g.tensors = tensors
        remap = lambda ixs: [tensor_map[int(i)] if i >= 0 else -1 for i in ixs]
        g.inputs, g.outputs = remap(g.inputs), remap(g.outputs)
        for op in g.operators:
            op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
        if m.signatureDefs:
            raise ValueError("signature defs are not handled")

        # Buffer 0 is the conventional empty buffer; metadata keeps its own.
        keep = {0} | {t.buffer for t in g.tensors}
        keep |= {md.buffer for md in (m.metadata or [])}
        buffer_map = {}
        buffers = []
        for i, b in enumerate(m.buffers):
            if i in keep:
                buffer_map[i] = len(buffers)
                buffers.append(b)
        m.buffers = buffers
        for t in g.tensors:
            t.buffer = buffer_map[t.buffer]
        for md in m.metadata or []:
            md.buffer = buffer_map[md.buffer]

        used_codes = sorted({op.opcodeIndex for op in g.operators})
        code_map = {old: new for new, old in enumerate(used_codes)}
        m.operatorCodes = [m.operatorCodes[i] for i in used_codes]
        for op in g.operators:
            op.opcodeIndex = code_map[op.opcodeIndex]
        for oc in m.operatorCodes:
            oc.builtinCode = opcode_of(oc)  # set the new-schema field too


def rewrite(s, data: bytes):
    import flatbuffers
    model = s.ModelT.InitFromPackedBuf(data, 0)
    stats = Rewriter(s, model).run()
    builder = flatbuffers.Builder(len(data) * 3)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out = bytes(builder.Output())
    check(s, out)
    return out, stats


def check(s, data: bytes):
    """Re-reads the output and asserts nothing tract cannot load is left."""
    model = s.ModelT.InitFromPackedBuf(data, 0)
    codes = {opcode_of(oc) for oc in model.operatorCodes}
    bad = codes & {OP_DEQUANTIZE, OP_PRELU}
    assert not bad, f"ops left: {bad}"
    for t in model.subgraphs[0].tensors:
        assert t.type != s.TensorType.FLOAT16, f"fp16 tensor left: {t.name}"


def verify(original: bytes, rewritten: bytes, name: str) -> None:
    """Runs both files in LiteRT on random inputs and prints the worst difference."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        print(f"  verify {name}: ai_edge_litert not importable, skipped")
        return
    import numpy as np
    worst = 0.0
    for trial in range(5):
        outs = []
        for blob in (original, rewritten):
            it = Interpreter(model_content=blob)
            it.allocate_tensors()
            inp = it.get_input_details()[0]
            if trial == 0:
                x = np.zeros(inp["shape"], dtype=np.float32)
            else:
                x = np.random.default_rng(trial).uniform(-1, 1, size=inp["shape"]).astype(np.float32)
            it.set_tensor(inp["index"], x)
            it.invoke()
            outs.append([it.get_tensor(o["index"]).copy()
                         for o in sorted(it.get_output_details(), key=lambda o: o["name"])])
        for a, b in zip(*outs):
            worst = max(worst, float(np.max(np.abs(a - b))))
    print(f"  verify {name}: LiteRT original vs rewritten, max |diff| = {worst:.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--wheel", help="use this mediapipe wheel instead of downloading")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--verify", action="store_true", help="compare in LiteRT if installed")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wheel_path = args.wheel or download_wheel(tmp)
        print(f"wheel: {os.path.basename(wheel_path)}  sha256 {sha256(open(wheel_path, 'rb').read())}")
        with zipfile.ZipFile(wheel_path) as wheel:
            s = load_schema(wheel, tmp)
            with open(os.path.join(args.out, "LICENSE-mediapipe"), "wb") as f:
                f.write(wheel.read(LICENSE_IN_WHEEL))
            for inner, out_name, expected in MODELS:
                original = wheel.read(inner)
                digest = sha256(original)
                if digest != expected:
                    sys.exit(f"{inner}: sha256 {digest} != expected {expected}")
                out, stats = rewrite(s, original)
                with open(os.path.join(args.out, out_name), "wb") as f:
                    f.write(out)
                print(f"{out_name}: original {len(original)} B sha256 {digest}")
                print(f"  rewritten {len(out)} B sha256 {sha256(out)}  {stats}")
                if args.verify:
                    verify(original, out, out_name)


if __name__ == "__main__":
    main()
