"""The adversarial suite: careless and hostile use, each case asserting its exact outcome."""
