"""Model bundles as data: reading and writing the bundle format (`bundle`), its strict JSON and
schema validation (`bundle_json`, `bundle_schema`), the fixed list of token patterns a bundle may
name, and Ed25519 signing and verification against the trusted keys (`signing`). A bundle is
verified before any of it is used. Imports only `app.core.common`.

An ONNX model file (abuse-mini's ``model.onnx``) is checked before onnxruntime ever sees it
(`onnx_check`): a strict pure-Python protobuf reader (`protowire`, `onnx_proto`; no `onnx` or
`protobuf` at run time) admits only standard operators from an allow-list, no custom domains,
external data, sparse tensors, subgraphs or local functions, a sorted and closed graph, and
sizes and shapes within `OnnxLimits`; `check_encoder_signature` holds it to abuse-mini's inputs
and output. A signature proves who made a bundle, not that its graph is sane.
"""
