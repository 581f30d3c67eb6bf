{
  "format": "abuse-desk-signature",
  "algorithm": "ed25519",
  "key_id": "2ee8a22f9cd2691e",
  "signature": "okMgYirMPKKA3749WQCUCBFRA0t9Hk/7M1Qbk3tEOFCV/KXje7m69b01hnZ5KRq4WO4C4AT0G0oVZpGZHJPCAA=="
}
