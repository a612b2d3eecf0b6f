// A stand-in program shipped as a directory asset in the BootstrappedImage tests.
console.log('agent');
