/**
 * The subset of the WebGPU API this backend uses, as local structural types (so the library
 * type-checks and emits declarations without DOM/WebGPU ambient types) plus the usage flags.
 * @module
 */

/** GPUBufferUsage flags. */
export const USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;
/** GPUMapMode.READ. */
export const MAP_READ_MODE = 0x1;

/** A GPU buffer. */
export interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

/** A compute pipeline. */
export interface GpuPipeline {
  getBindGroupLayout(index: number): unknown;
}

/** A compute pass. */
export interface GpuComputePass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

/** A command encoder. */
export interface GpuEncoder {
  beginComputePass(desc?: unknown): GpuComputePass;
  copyBufferToBuffer(
    src: GpuBuffer,
    srcOffset: number,
    dst: GpuBuffer,
    dstOffset: number,
    size: number,
  ): void;
  finish(): unknown;
}

/** The device queue. */
export interface GpuQueue {
  submit(buffers: unknown[]): void;
  writeBuffer(
    buffer: GpuBuffer,
    offset: number,
    data: ArrayBufferView,
    dataOffset?: number,
    size?: number,
  ): void;
  onSubmittedWorkDone(): Promise<void>;
}

/** Adapter or device limits (only the ones read here). */
export interface GpuLimits {
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxUniformBufferBindingSize?: number;
  readonly minUniformBufferOffsetAlignment?: number;
}

/** A device. */
export interface GpuDevice {
  readonly limits: GpuLimits;
  readonly queue: GpuQueue;
  readonly features: { has(name: string): boolean };
  readonly lost?: Promise<{ message: string; reason?: string }>;
  createBuffer(desc: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createShaderModule(desc: { code: string }): unknown;
  createComputePipeline(
    desc: { layout: "auto"; compute: { module: unknown; entryPoint: string } },
  ): GpuPipeline;
  createBindGroup(
    desc: {
      layout: unknown;
      entries: {
        binding: number;
        resource: { buffer: GpuBuffer; offset?: number; size?: number };
      }[];
    },
  ): unknown;
  createCommandEncoder(): GpuEncoder;
  addEventListener?(type: string, listener: (ev: { error?: { message: string } }) => void): void;
  destroy?(): void;
}

/** An adapter. */
export interface GpuAdapter {
  readonly limits: GpuLimits & Record<string, number>;
  readonly features: { has(name: string): boolean };
  readonly info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  readonly isFallbackAdapter?: boolean;
  requestDevice(
    desc?: { requiredLimits?: Record<string, number>; requiredFeatures?: string[] },
  ): Promise<GpuDevice>;
}

/** `navigator.gpu`. */
export interface Gpu {
  requestAdapter(
    opts?: { powerPreference?: string; featureLevel?: string },
  ): Promise<GpuAdapter | null>;
}

/** `navigator.gpu` when the runtime has WebGPU, else undefined. */
export function navigatorGpu(): Gpu | undefined {
  const nav = (globalThis as { navigator?: { gpu?: Gpu } }).navigator;
  return nav?.gpu ?? undefined;
}
