// libFuzzer supplies main(); this executable only links FuzzPNG (its LLVMFuzzerTestOneInput).
