{
  "format": "abuse-desk-signature",
  "algorithm": "ed25519",
  "key_id": "497e01fca1f592c8",
  "signature": "XCgAXxirRWpMIWtITbv/VXYe9hWzUoqSojvbkSTw/tcsNUwO8KfRbuP09LrNvhjSbo5oQsdfxs07u7UDzSUHBw=="
}
