// libFuzzer supplies main(); this executable only links FuzzDiffusersConfiguration (its LLVMFuzzerTestOneInput).
