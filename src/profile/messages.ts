/** The environment problems `moe-trace profile` reports, shared by the runner and the bash script. */
export const MESSAGES = {
  noNsysShort: 'nsys (Nsight Systems) not found in $NSYS, PATH, /opt/nvidia/nsight-systems/*/bin, /usr/local/cuda/bin or /opt/nvidia/nsight-compute/*/host/target-linux-x64: install Nsight Systems or set NSYS=/path/to/nsys.',
  noDriver: 'no NVIDIA driver: nvidia-smi is not on PATH. Capturing needs a Linux machine with an NVIDIA GPU and its driver.',
  noGpu: 'nvidia-smi found no usable GPU (nvidia-smi -L failed): check the driver and that a GPU is visible (CUDA_VISIBLE_DEVICES, container --gpus).',
  noCmake: 'CMake and ninja are needed to build the bundled workload: install them (pip install cmake ninja, or your package manager).',
  noNvcc: 'nvcc (the CUDA compiler) is needed to build the bundled workload: install the CUDA toolkit or add its bin folder (e.g. /usr/local/cuda/bin) to PATH.',
  noCublas: 'the CUDA toolkit has no cuBLAS, which the bundled workload needs: install cuBLAS (libcublas-dev / cuda-libraries-dev) or point CUDAToolkit_ROOT at a toolkit that has it.',
  qdstrmOnlyShell: 'nsys left only a .qdstrm: its importer (QdstrmImporter) failed to turn it into a report. Missing library dependencies of the importer (e.g. libdw.so.1) are the usual cause: run the importer by hand to see which.',
} as const;
