// libFuzzer supplies main(); this executable links FuzzCorpus, which writes the seeds from LLVMFuzzerInitialize.
