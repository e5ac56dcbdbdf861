// libFuzzer supplies main(); this executable only links FuzzDetector (its LLVMFuzzerTestOneInput).
