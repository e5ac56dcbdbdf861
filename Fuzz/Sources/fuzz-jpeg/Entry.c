// libFuzzer supplies main(); this executable only links FuzzJPEG (its LLVMFuzzerTestOneInput).
