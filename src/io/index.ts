/**
 * Safetensors, the weight format shared with PyTorch: encoding and decoding bytes, and in a page, downloading a
 * file and reading one the user picked.
 * @module
 */
export {
  encodeSafetensors, decodeSafetensors, SafetensorsError, type StFile, type StTensor, type StDType,
} from './safetensors.js';
export {downloadBytes, downloadSafetensors, readSafetensorsFile} from './browser.js';
