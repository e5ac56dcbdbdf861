// libFuzzer supplies main(); this executable only links FuzzPyTorchCheckpoint (its LLVMFuzzerTestOneInput).
