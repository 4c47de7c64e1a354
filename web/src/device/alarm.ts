/**
 * The countdown's alarm: a pulsing two-tone beep (Web Audio, no audio file to download) and vibration. Started
 * from the SOS button's click, so the audio context is allowed to play. Returns the function that stops both.
 */
export function startAlarm(): () => void {
  const stops: Array<() => void> = [];
  if ('vibrate' in navigator) {
    navigator.vibrate([400, 200, 400, 200, 400, 200, 400, 200, 400, 200, 400, 200, 400, 200, 400, 200, 400]);
    stops.push(() => navigator.vibrate(0));
  }
  try {
    const context = new AudioContext();
    const gain = context.createGain();
    gain.gain.value = 0;
    gain.connect(context.destination);
    const tone = context.createOscillator();
    tone.type = 'square';
    tone.connect(gain);
    const start = context.currentTime;
    for (let i = 0; i < 20; i++) {
      const at = start + i * 0.5;
      tone.frequency.setValueAtTime(i % 2 === 0 ? 880 : 660, at);
      gain.gain.setValueAtTime(0.2, at);
      gain.gain.setValueAtTime(0, at + 0.3);
    }
    tone.start();
    stops.push(() => {
      tone.stop();
      void context.close();
    });
  } catch {
    // No Web Audio: vibration and the visible countdown remain.
  }
  return () => {
    for (const stop of stops) stop();
  };
}
