// A provider's sign-in sends this window back here with its answer in the address (a one-time
// code and the state Medkey sent). The Medkey page that opened the window listens on a
// BroadcastChannel, which reaches pages of this origin only and works although the pages'
// Cross-Origin-Opener-Policy severed this window from its opener when it went to the provider.
// Nothing is stored; the window then closes.
const channel = new BroadcastChannel('medkey-smart-callback');
channel.postMessage({ url: window.location.href });
channel.close();
window.close();
