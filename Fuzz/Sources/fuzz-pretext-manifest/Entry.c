// libFuzzer supplies main(); this executable only links FuzzPretextManifest (its LLVMFuzzerTestOneInput).
