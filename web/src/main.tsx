import { render } from 'solid-js/web';
import { App } from './app';
import './app.css';

const root = document.getElementById('root');
if (root === null) {
  throw new Error('index.html must contain <div id="root">');
}
render(() => <App />, root);
