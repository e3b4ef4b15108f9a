/**
 * Reads a pairing link from the camera: BarcodeDetector where the browser has it, else jsQR on
 * frames drawn to a canvas. Stops the camera as soon as a Duet link is found or on stop().
 */
import jsQR from 'jsqr';

const FRAME_INTERVAL_MS = 150;

interface BarcodeDetectorLike {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}

type BarcodeDetectorConstructor = new (options: { formats: string[] }) => BarcodeDetectorLike;

export interface ScanSession {
  stop(): void;
}

export async function scanPairingLink(video: HTMLVideoElement, onLink: (link: string) => void, onError: (message: string) => void): Promise<ScanSession> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch {
    onError('The camera is not available. Allow camera access, or paste the link instead.');
    return { stop: () => undefined };
  }
  video.srcObject = stream;
  video.setAttribute('playsinline', 'true');
  await video.play();
  const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorConstructor }).BarcodeDetector;
  let detector = Detector ? new Detector({ formats: ['qr_code'] }) : null;
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  let stopped = false;
  const stop = () => {
    stopped = true;
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const readFrame = async (): Promise<string | null> => {
    if (detector) {
      try {
        return (await detector.detect(video))[0]?.rawValue ?? null;
      } catch {
        // Some desktop builds expose BarcodeDetector without a QR engine: use jsQR from now on.
        detector = null;
      }
    }
    if (!context || video.videoWidth === 0) return null;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(image.data, image.width, image.height)?.data ?? null;
  };
  const tick = async () => {
    if (stopped) return;
    const value = await readFrame();
    // A Duet pairing link, or a Guard link (the browser shows one to link this phone to the Guard).
    if (value && (value.includes('#p=') || value.includes('#guard='))) {
      stop();
      onLink(value);
      return;
    }
    setTimeout(() => void tick(), FRAME_INTERVAL_MS);
  };
  void tick();
  return { stop };
}
