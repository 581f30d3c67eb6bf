{
  "format": "abuse-desk-signature",
  "algorithm": "ed25519",
  "key_id": "497e01fca1f592c8",
  "signature": "p2ItaiHgb2+Q0KWwU2wGWU/bZdhvMwUFsDf6b3f4gxZtmkCm7F+p4Y5C6juoNafc0BlxEP5Zh3ttQmNaHInTBA=="
}
