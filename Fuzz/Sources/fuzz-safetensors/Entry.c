// libFuzzer supplies main(); this executable only links FuzzSafeTensors (its LLVMFuzzerTestOneInput).
