"""Model bundles as data: reading and writing the bundle format (`bundle`), its strict JSON and
schema validation (`bundle_json`, `bundle_schema`), the fixed list of token patterns a bundle may
name, and Ed25519 signing and verification against the trusted keys (`signing`). A bundle is
verified before any of it is used. Imports only `app.core.common`.
"""
